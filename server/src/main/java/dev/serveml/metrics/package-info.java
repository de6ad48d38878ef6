/**
 * Meter names and their registration, in one place so that dashboards and alerts have one list
 * to follow. Prometheus text is served from {@link dev.serveml.metrics.Meters#scrape()}.
 */
package dev.serveml.metrics;
