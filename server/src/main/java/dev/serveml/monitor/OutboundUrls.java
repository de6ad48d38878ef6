package dev.serveml.monitor;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Optional;

/**
 * Where a tenant may have the server send things (a prediction log's CloudEvents sink, a drift
 * webhook): a tenant names the URL, the server makes the connection, so an unchecked URL would let
 * a tenant reach what only the server can (its own admin routes on loopback, a cloud's metadata
 * service, the database's network). An http or https URL with a host and no credentials is taken
 * when configured; each connection then checks the address the name resolves to at that moment
 * (a name may be pointed elsewhere after the check), and refuses loopback, link-local, private,
 * multicast and unspecified addresses unless the server's operator allows them
 * ({@code SERVEML_OUTBOUND_ALLOW_PRIVATE}). Stateless.
 */
public final class OutboundUrls {
    private OutboundUrls() {
    }

    /** Why a configured URL is refused, in words for the user; empty when it is taken. */
    public static Optional<String> refusal(String url) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            return Optional.of("url is not a URL: " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            return Optional.of("url must be an http:// or https:// URL");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            return Optional.of("url must name a host");
        }
        if (uri.getRawUserInfo() != null) {
            return Optional.of("url must not carry credentials (user:password@)");
        }
        if (url.length() > 2048) {
            return Optional.of("url must be at most 2048 characters");
        }
        return Optional.empty();
    }

    /** Whether the server may connect to this address, given what its operator allows. */
    public static boolean reachable(InetAddress address, boolean allowPrivate) {
        if (allowPrivate) {
            return true;
        }
        if (address.isLoopbackAddress() || address.isLinkLocalAddress() || address.isSiteLocalAddress()
                || address.isAnyLocalAddress() || address.isMulticastAddress()) {
            return false;
        }
        byte[] b = address.getAddress();
        // IPv6 unique local (fc00::/7), and 100.64.0.0/10 (carrier-grade NAT, used by some clouds' internals).
        if (b.length == 16 && (b[0] & 0xFE) == 0xFC) {
            return false;
        }
        return !(b.length == 4 && (b[0] & 0xFF) == 100 && (b[1] & 0xC0) == 64);
    }
}
