package dev.serveml;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * No package of ServeML depends on itself through others: each package (sub-packages counted on
 * their own) is a slice, read from the compiled classes, and the slices must form no cycle. New
 * callers (protocols, jobs, the CLI) sit on top; the registry tells the host of changes by events
 * instead of calling it.
 */
class PackageCyclesTest {
    private static ArchRule noCycles(String root) {
        return slices().matching(root + ".(**)").should().beFreeOfCycles();
    }

    @Test
    void serveMLsPackagesFormNoCycle() {
        JavaClasses main = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.serveml");
        assertThat(main.size()).as("the main classes were found").isGreaterThan(100);

        noCycles("dev.serveml").check(main);
    }

    @Test
    void theRuleFailsOnACycle() {
        JavaClasses cyclic = new ClassFileImporter().importPackages("dev.serveml.archfixture.cyclic");
        assertThat(cyclic.size()).isEqualTo(2);

        EvaluationResult result = noCycles("dev.serveml.archfixture.cyclic").evaluate(cyclic);

        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().toString()).contains("Cycle detected", "a", "b");
    }
}
