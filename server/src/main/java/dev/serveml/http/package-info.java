/**
 * HTTP: the Vert.x router, one handler class per concern (models, predict, the Open Inference
 * Protocol V2, operations), the streaming upload receiver, and the one problem mapper. Handlers
 * never block the event loop: registry and model calls come back as futures.
 */
package dev.serveml.http;
