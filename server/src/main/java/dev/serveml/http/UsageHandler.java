package dev.serveml.http;

import dev.serveml.auth.Principal;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import dev.serveml.usage.UsageLog;
import dev.serveml.usage.UsageQuery;
import dev.serveml.usage.UsageRow;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/**
 * {@code GET /api/v1/usage}: requests and tokens per API key, model and UTC day. A user reads the
 * usage of their own keys and session tokens only, whatever they ask for; an administrator reads
 * everyone's, or one user's with {@code user_id}.
 */
final class UsageHandler {
    private static final int DEFAULT_DAYS = 31;

    private final UsageLog usage;
    private final Responses responses;

    UsageHandler(UsageLog usage, Responses responses) {
        this.usage = usage;
        this.responses = responses;
    }

    void register(HttpApi api) {
        api.route(HttpMethod.GET, "/api/v1/usage", Access.AUTHENTICATED, this::list);
    }

    private void list(RoutingContext ctx) {
        Principal caller = HttpApi.principal(ctx);
        var q = ctx.queryParams();
        LocalDate to = date(q.get("to"), "to", LocalDate.now(ZoneOffset.UTC));
        LocalDate from = date(q.get("from"), "from", to.minusDays(DEFAULT_DAYS - 1));
        if (from.isAfter(to)) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/from", "from must not be after to");
        }
        long user = caller.admin() ? number(q.get("user_id"), "user_id", 0) : caller.userId();
        String key = q.get("key_id");
        Long keyId = key == null || key.isBlank() ? null : number(key, "key_id", 0);
        int limit = (int) number(q.get("limit"), "limit", 1000);
        if (limit < 1 || limit > 10_000) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/limit", "limit must be between 1 and 10000");
        }
        String model = q.get("model") == null || q.get("model").isBlank() ? null : q.get("model");
        UsageQuery query = new UsageQuery(user, keyId, model, from, to, limit);
        responses.blocking(ctx, () -> usage.query(query), rows -> responses.send(ctx, 200, g -> {
            g.writeStartObject();
            g.writeStringField("from", from.toString());
            g.writeStringField("to", to.toString());
            g.writeArrayFieldStart("items");
            for (UsageRow r : rows) {
                g.writeStartObject();
                g.writeStringField("date", r.day().toString());
                g.writeNumberField("user_id", r.userId());
                if (r.keyId() == 0) {
                    g.writeNullField("key_id");
                } else {
                    g.writeNumberField("key_id", r.keyId());
                }
                g.writeStringField("model", r.model());
                g.writeNumberField("requests", r.requests());
                g.writeNumberField("prompt_tokens", r.promptTokens());
                g.writeNumberField("completion_tokens", r.completionTokens());
                g.writeNumberField("total_tokens", r.promptTokens() + r.completionTokens());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeNumberField("count", rows.size());
            g.writeEndObject();
        }));
    }

    private static LocalDate date(String text, String name, LocalDate fallback) {
        if (text == null || text.isBlank()) {
            return fallback;
        }
        try {
            return LocalDate.parse(text);
        } catch (DateTimeParseException e) {
            throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + name, name + " must be a UTC date such as "
                    + "2026-12-01");
        }
    }

    private static long number(String text, String name, long fallback) {
        if (text == null || text.isBlank()) {
            return fallback;
        }
        try {
            long n = Long.parseLong(text);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ProblemException.field(ProblemType.INVALID_REQUEST, "/" + name, name + " must be a whole number, 0 or more");
    }
}
