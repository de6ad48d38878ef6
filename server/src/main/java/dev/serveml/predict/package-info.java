/**
 * The single predict entry point, {@link dev.serveml.predict.Predictor}: above the inference
 * service and deployments, below every protocol and caller. Nothing but callers depends on it.
 */
package dev.serveml.predict;
