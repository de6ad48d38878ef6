/**
 * Deployments: named endpoints over one model with a traffic policy (weighted, sticky, shadow)
 * and a serving config; their lifecycle (pending, building, loading, active, failed), the
 * progress events kept for each, and the routing of calls to versions. No HTTP here.
 */
package dev.serveml.deployments;
