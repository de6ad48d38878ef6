package dev.serveml.deployments;

import java.util.Optional;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * A deployment to create, as a protocol decoded it. The policy and the config are judged only
 * when {@link Deployments#create} reaches them: it checks the name, then that the model exists
 * and is the caller's, and only then the policy and the config. So whether a model is someone
 * else's (404) never depends on what else the body holds, and of several faults the first in
 * that order is the one answered, whatever protocol sent them.
 *
 * @param name   the deployment's name as sent; empty when none was sent (refused as a bad name)
 * @param model  the model's name as sent; empty when none was sent
 * @param policy the traffic policy; throws the {@code invalid-deployment} problem naming its wrong fields
 * @param config the config, given the server's defaults; throws as {@code policy} does
 */
public record DeploymentRequest(Optional<String> name, Optional<String> model, Supplier<TrafficPolicy> policy,
                                UnaryOperator<DeploymentConfig> config) {
}
