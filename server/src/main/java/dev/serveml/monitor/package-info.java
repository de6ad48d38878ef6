/**
 * Model monitoring: every prediction the one way in answers (or refuses) is observed once, off the
 * request path, by the prediction log, usage rollups, feedback join and drift windows.
 */
package dev.serveml.monitor;
