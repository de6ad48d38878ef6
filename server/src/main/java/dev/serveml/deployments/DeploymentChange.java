package dev.serveml.deployments;

import java.util.function.UnaryOperator;

/**
 * A change to a deployment, as a protocol decoded it. Each part is judged only once
 * {@link Deployments#update} has found the deployment, so another tenant's deployment is not
 * found whatever the change holds; the policy is judged before the config.
 *
 * @param policy the new policy, given the current one (that one itself when the change names none);
 *               throws the {@code invalid-deployment} problem naming its wrong fields
 * @param config the new config, given the current one; throws as {@code policy} does
 */
public record DeploymentChange(UnaryOperator<TrafficPolicy> policy, UnaryOperator<DeploymentConfig> config) {
}
