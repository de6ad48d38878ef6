/**
 * Deployments: named endpoints over one model with a traffic policy (weighted, sticky, shadow)
 * and a serving config; their lifecycle (pending, building, loading, active, failed), the
 * progress events kept for each, and the routing of calls to versions. No HTTP here: the
 * service takes typed requests ({@link dev.serveml.deployments.DeploymentRequest},
 * {@link dev.serveml.deployments.DeploymentChange}) that http reads from request bodies; the
 * {@code toJson}/{@code fromJson} of policies and configs are their stored (and shown) form.
 */
package dev.serveml.deployments;
