package dev.serveml.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.serveml.audit.AuditEntry;
import dev.serveml.audit.AuditLog;
import dev.serveml.audit.AuditQuery;
import dev.serveml.auth.ApiKey;
import dev.serveml.auth.AuthService;
import dev.serveml.auth.KeyRequest;
import dev.serveml.auth.Principal;
import dev.serveml.auth.Scope;
import dev.serveml.auth.User;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** Accounts, sessions, API keys and the audit log over REST. */
final class AuthHandler {
    private final AuthService auth;
    private final AuditLog audit;
    private final Responses responses;

    AuthHandler(AuthService auth, AuditLog audit, Responses responses) {
        this.auth = auth;
        this.audit = audit;
        this.responses = responses;
    }

    record UserView(long id, String username, String role, Instant createdAt) {
        static UserView of(User u) {
            return new UserView(u.id(), u.username(), u.role().value(), u.createdAt());
        }
    }

    record SessionView(String accessToken, String tokenType, long expiresIn, String refreshToken,
                       long refreshExpiresIn, UserView user) {
        static SessionView of(AuthService.Session s) {
            return new SessionView(s.accessToken(), "Bearer", s.accessTtl().toSeconds(), s.refreshToken(),
                    s.refreshTtl().toSeconds(), UserView.of(s.user()));
        }
    }

    record MeView(long id, String username, String role, List<String> scopes, Long apiKeyId) {
    }

    record KeyView(long id, String name, String prefix, List<String> scopes, Integer rateLimitPerMinute,
                   Integer dailyQuota, Instant createdAt, Instant expiresAt, Instant revokedAt, Long parentId,
                   Integer tokensPerMinute, Integer tokensPerDay, String key) {
        static KeyView of(ApiKey k, String secret) {
            return new KeyView(k.id(), k.name(), "sml_" + k.prefix(), k.scopes().stream().map(Scope::value).sorted()
                    .toList(), k.rateLimitPerMinute(), k.dailyQuota(), k.createdAt(), k.expiresAt(), k.revokedAt(),
                    k.parentId(), k.tokensPerMinute(), k.tokensPerDay(), secret);
        }
    }

    void register(HttpApi api) {
        api.signInRoute(HttpMethod.POST, "/api/v1/auth/register", this::registerUser);
        api.signInRoute(HttpMethod.POST, "/api/v1/auth/login", this::login);
        api.signInRoute(HttpMethod.POST, "/api/v1/auth/refresh", this::refresh);
        api.jsonRoute(HttpMethod.POST, "/api/v1/auth/logout", Access.PUBLIC, this::logout);
        api.route(HttpMethod.GET, "/api/v1/auth/me", Access.AUTHENTICATED, this::me);
        api.jsonRoute(HttpMethod.POST, "/api/v1/api-keys", Access.AUTHENTICATED, this::createKey);
        api.route(HttpMethod.GET, "/api/v1/api-keys", Access.AUTHENTICATED, this::listKeys);
        api.route(HttpMethod.DELETE, "/api/v1/api-keys/:id", Access.AUTHENTICATED, this::revokeKey);
        api.route(HttpMethod.GET, "/api/v1/audit", Access.AUTHENTICATED, this::auditLog);
        api.route(HttpMethod.GET, "/api/v1/users", Access.scope(Scope.ADMIN), ctx -> responses.blocking(ctx,
                auth::listUsers, users -> responses.sendValue(ctx, 200,
                        Views.ListView.of(users.stream().map(UserView::of).toList()))));
        api.route(HttpMethod.DELETE, "/api/v1/users/:id", Access.scope(Scope.ADMIN), this::deleteUser);
    }

    private void registerUser(RoutingContext ctx) {
        JsonNode body = responses.jsonBody(ctx);
        String ip = HttpApi.principal(ctx).ip();
        // Missing or non-string fields go on as null: registration reports every invalid field at once.
        String username = body.path("username").isTextual() ? body.get("username").textValue() : null;
        String password = body.path("password").isTextual() ? body.get("password").textValue() : null;
        responses.blocking(ctx, () -> auth.register(username, password, ip),
                user -> responses.sendValue(ctx, 201, UserView.of(user)));
    }

    private void login(RoutingContext ctx) {
        JsonNode body = responses.jsonBody(ctx);
        String ip = HttpApi.principal(ctx).ip();
        responses.blocking(ctx, () -> auth.login(text(body, "username"), text(body, "password"), ip),
                session -> noStore(ctx, SessionView.of(session)));
    }

    private void refresh(RoutingContext ctx) {
        JsonNode body = responses.jsonBody(ctx);
        String ip = HttpApi.principal(ctx).ip();
        responses.blocking(ctx, () -> auth.refresh(text(body, "refresh_token"), ip),
                session -> noStore(ctx, SessionView.of(session)));
    }

    private void logout(RoutingContext ctx) {
        JsonNode body = responses.jsonBody(ctx);
        String ip = HttpApi.principal(ctx).ip();
        responses.blocking(ctx, () -> {
            auth.logout(text(body, "refresh_token"), ip);
            return Boolean.TRUE;
        }, ok -> ctx.response().setStatusCode(204).end());
    }

    private void noStore(RoutingContext ctx, Object view) {
        ctx.response().putHeader("Cache-Control", "no-store");
        responses.sendValue(ctx, 200, view);
    }

    private void me(RoutingContext ctx) {
        Principal p = HttpApi.principal(ctx);
        responses.sendValue(ctx, 200, new MeView(p.userId(), p.username(), p.role().value(),
                p.scopes().stream().map(Scope::value).sorted().toList(), p.apiKeyId() == 0 ? null : p.apiKeyId()));
    }

    private void createKey(RoutingContext ctx) {
        JsonNode body = responses.jsonBody(ctx);
        Principal caller = HttpApi.principal(ctx);
        Set<Scope> scopes = EnumSet.noneOf(Scope.class);
        JsonNode scopesNode = body.path("scopes");
        if (!scopesNode.isArray()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/scopes", "scopes must be an array such as "
                    + "[\"predict\", \"models:read\"]");
        }
        for (int i = 0; i < scopesNode.size(); i++) {
            String text = scopesNode.get(i).asText();
            int index = i;
            scopes.add(Scope.parse(text).orElseThrow(() -> ProblemException.field(ProblemType.INVALID_REQUEST,
                    "/scopes/" + index, "unknown scope '" + text + "'; scopes are predict, models:read, "
                            + "models:write, deployments:write, admin")));
        }
        Instant expires = null;
        if (body.hasNonNull("expires_at")) {
            try {
                expires = Instant.parse(body.get("expires_at").asText());
            } catch (DateTimeParseException e) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/expires_at",
                        "expires_at must be an ISO-8601 instant such as 2027-01-31T00:00:00Z");
            }
        } else if (body.hasNonNull("expires_in_days")) {
            JsonNode days = body.get("expires_in_days");
            if (!days.canConvertToInt() || days.intValue() < 1) {
                throw ProblemException.field(ProblemType.INVALID_REQUEST, "/expires_in_days",
                        "expires_in_days must be a whole number of days, at least 1");
            }
            expires = Instant.now().plus(java.time.Duration.ofDays(days.intValue()));
        }
        Integer limit = positive(body, "rate_limit_per_minute");
        Integer quota = positive(body, "daily_quota");
        Instant expiresAt = expires;
        String name = body.path("name").isTextual() ? body.get("name").textValue() : null;
        KeyRequest wanted = new KeyRequest(name, scopes, expiresAt, limit, quota, positive(body, "tokens_per_minute"),
                positive(body, "tokens_per_day"));
        responses.blocking(ctx, () -> auth.createKey(caller, wanted), created -> {
            ctx.response().putHeader("Cache-Control", "no-store");
            responses.sendValue(ctx, 201, KeyView.of(created.key(), created.secret()));
        });
    }

    private static Integer positive(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < 1) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + field, field + " must be a positive whole number");
        }
        return n.intValue();
    }

    private void listKeys(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        responses.blocking(ctx, () -> auth.listKeys(caller), keys -> responses.sendValue(ctx, 200,
                Views.ListView.of(keys.stream().map(k -> KeyView.of(k, null)).toList())));
    }

    private void revokeKey(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        long id = idParam(ctx, "API key");
        responses.blocking(ctx, () -> auth.revokeKey(caller, id), k -> responses.sendValue(ctx, 200, KeyView.of(k, null)));
    }

    private void deleteUser(RoutingContext ctx) {
        Principal admin = HttpApi.principal(ctx);
        long id = idParam(ctx, "user");
        responses.blocking(ctx, () -> {
            auth.deleteUser(admin, id);
            return Boolean.TRUE;
        }, ok -> ctx.response().setStatusCode(204).end());
    }

    private void auditLog(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        var q = ctx.queryParams();
        long actor = caller.admin() ? parseLong(q.get("actor_id"), "actor_id", 0) : caller.userId();
        int limit = (int) parseLong(q.get("limit"), "limit", 50);
        if (limit < 1 || limit > 500) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/limit", "limit must be between 1 and 500");
        }
        AuditQuery query = new AuditQuery(actor, q.get("action"), instant(q.get("since"), "since"),
                instant(q.get("until"), "until"), parseLong(q.get("before_id"), "before_id", 0), limit);
        responses.blocking(ctx, () -> {
            audit.flush();
            return audit.query(query);
        }, entries -> responses.send(ctx, 200, g -> {
            g.writeStartObject();
            g.writeFieldName("items");
            responses.mapper().writeValue(g, entries);
            g.writeNumberField("count", entries.size());
            if (entries.size() == limit) {
                AuditEntry last = entries.get(entries.size() - 1);
                g.writeStringField("next", "/api/v1/audit?before_id=" + last.id() + "&limit=" + limit
                        + (query.action() == null ? "" : "&action=" + query.action()));
            }
            g.writeEndObject();
        }));
    }

    /** The numeric {@code :id} path parameter, or the not-found problem. */
    private static long idParam(RoutingContext ctx, String what) {
        try {
            return Long.parseLong(ctx.pathParam("id"));
        } catch (NumberFormatException e) {
            throw new ProblemException(ProblemType.ROUTE_NOT_FOUND, what + " ids are numbers; '" + ctx.pathParam("id")
                    + "' is not one");
        }
    }

    private static long parseLong(String text, String name, long fallback) {
        if (text == null || text.isBlank()) {
            return fallback;
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + name, name + " must be a number");
        }
    }

    private static Instant instant(String text, String name) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + name, name
                    + " must be an ISO-8601 instant such as 2026-11-23T00:00:00Z");
        }
    }

    private static String text(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null || !n.isTextual()) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + field, "\"" + field
                    + "\" is required and must be a string");
        }
        return n.textValue();
    }
}
