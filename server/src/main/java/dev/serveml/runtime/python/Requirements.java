package dev.serveml.runtime.python;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A model's requirements, as pip may install them here. A tenant's requirements.txt is input
 * to pip, and pip reads far more than package names from it: options that change where it looks
 * ({@code --index-url}, {@code -f}) or read other files ({@code -r}, {@code -c}), editable and
 * local projects, URLs, VCS checkouts and {@code name @ url} direct references, any of which can
 * run a {@code setup.py}. So only lines that name a package are accepted: a name, extras, version
 * specifiers, environment markers, and {@code --hash} pins. With the administrator's
 * {@code SERVEML_PIP_ALLOW_DIRECT_REFERENCES} the URL, VCS, path and direct-reference lines are
 * allowed too (they still build in the sandbox); options never are.
 *
 * @param lines   the requirement lines, comments and blank lines dropped, in order
 * @param numbers each line's number in the text it came from (1 for the first), for messages
 */
record Requirements(List<String> lines, List<Integer> numbers) {
    private static final String NAME = "[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?";
    private static final String SPEC = "(?:===|~=|==|!=|<=|>=|<|>)\\s*[A-Za-z0-9.*+!_-]+";
    private static final String SPECS = SPEC + "(?:\\s*,\\s*" + SPEC + ")*";
    private static final Pattern PACKAGE = Pattern.compile(NAME
            + "\\s*(?:\\[\\s*" + NAME + "(?:\\s*,\\s*" + NAME + ")*\\s*\\])?"
            + "\\s*(?:" + SPECS + "|\\(\\s*" + SPECS + "\\s*\\))?"
            + "\\s*(?:;[A-Za-z0-9_.'\"<>=!~+, ()\\t-]*)?"
            + "(?:\\s+--hash[=\\s](?:sha256|sha384|sha512):[0-9a-fA-F]+)*\\s*");
    /** Any option but pip's per-requirement --hash after a requirement, the only one a line may carry. */
    private static final Pattern OPTION = Pattern.compile("^-|\\s-(?!-hash[=\\s])");
    private static final Pattern COMMENT = Pattern.compile("(?:^|\\s+)#.*$");
    /** Directories of an absolute path in a quoted line: a message names the line, not the host's folders. */
    private static final Pattern FOLDERS = Pattern.compile("(?<![\\w:/.~])(?:/[^/\\s]+)+/");
    private static final int SHOWN = 200;

    Requirements {
        lines = List.copyOf(lines);
        numbers = List.copyOf(numbers);
        if (lines.size() != numbers.size()) {
            throw new IllegalArgumentException("one number per line");
        }
    }

    /** The requirement lines of a requirements.txt's text; nothing is checked yet. */
    static Requirements parse(String text) {
        List<String> lines = new ArrayList<>();
        List<Integer> numbers = new ArrayList<>();
        List<String> all = text.lines().toList();
        for (int i = 0; i < all.size(); i++) {
            String line = COMMENT.matcher(all.get(i)).replaceFirst("").strip();
            if (!line.isEmpty()) {
                lines.add(line);
                numbers.add(i + 1);
            }
        }
        return new Requirements(lines, numbers);
    }

    boolean isEmpty() {
        return lines.isEmpty();
    }

    /** The text given to pip, and hashed to name the virtualenv: one line each. */
    String text() {
        return String.join("\n", lines);
    }

    /**
     * Refuses the first line pip may not be given.
     *
     * @throws ProblemException {@code invalid-requirements} naming the line and why
     */
    void check(boolean allowDirectReferences) {
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            String why = refusal(line, allowDirectReferences);
            if (why != null) {
                String shown = FOLDERS.matcher(line.length() > SHOWN ? line.substring(0, SHOWN) + "..." : line)
                        .replaceAll(".../");
                throw new ProblemException(ProblemType.INVALID_REQUIREMENTS, "requirements line " + numbers.get(i)
                        + " '" + shown + "' " + why + "; only package names with optional extras, versions and markers (e.g. numpy==1.24.2 "
                        + "or scikit-learn>=1.0) are installed, from the server's package index or wheelhouse");
            }
        }
    }

    /** Why this line may not go to pip, or null. */
    static String refusal(String line, boolean allowDirectReferences) {
        if (line.endsWith("\\")) {
            return "continues onto the next line, which pip would read as one line";
        }
        if (line.contains("${")) {
            return "names an environment variable";
        }
        if (OPTION.matcher(line).find()) {
            return "is or holds a pip option (-r, -c, -e, --index-url, --find-links, ... are not accepted)";
        }
        if (PACKAGE.matcher(line).matches()) {
            return null;
        }
        String kind = line.matches("(?i)^(git|hg|svn|bzr)\\+.*") ? "is a version-control reference"
                : line.matches("(?i)^[a-z][a-z0-9+.-]*:.*") ? "is a URL"
                : line.contains("@") ? "is a direct reference (name @ url)"
                : line.matches("^[.~/\\\\].*") || line.contains("/") || line.contains("\\") ? "is a local path"
                : null;
        if (kind == null) {
            return "is not a package requirement pip understands";
        }
        return allowDirectReferences ? null : kind + " (an administrator may allow these with "
                + "SERVEML_PIP_ALLOW_DIRECT_REFERENCES=true)";
    }
}
