package dev.serveml.registry;

import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UploaderTest {
    @Test
    void anUploadThatWouldPassTheQuotaIsRefusedSayingWhatIsUsedAndTheLimit() {
        Uploader tenant = new Uploader(7, false, 10L << 20);

        assertThatThrownBy(() -> tenant.requireRoom(9L << 20, 2L << 20))
                .isInstanceOfSatisfying(ProblemException.class, e -> {
                    assertThat(e.type()).isEqualTo(ProblemType.STORAGE_QUOTA_EXCEEDED);
                    assertThat(e.type().status()).isEqualTo(413);
                    assertThat(e.detail()).contains("2.0 MiB file", "11.0 MiB", "quota of 10.0 MiB", "9.0 MiB used",
                            "SERVEML_STORAGE_QUOTA_PER_USER");
                });
    }

    @Test
    void anUploadThatFitsOrAddsNothingIsAllowed() {
        Uploader tenant = new Uploader(7, false, 10L << 20);

        assertThatNoException().isThrownBy(() -> tenant.requireRoom(8L << 20, 2L << 20));
        assertThatNoException().isThrownBy(() -> tenant.requireRoom(12L << 20, 0));
    }

    @Test
    void anUploaderWithoutQuotaIsNeverRefused() {
        assertThatNoException().isThrownBy(() -> new Uploader(1, true, Long.MAX_VALUE)
                .requireRoom(Long.MAX_VALUE / 2, Long.MAX_VALUE / 2));
    }

    @Test
    void aTenantMayAddOnlyToTheirOwnModelsAndAnAdministratorToAny() {
        Uploader tenant = new Uploader(7, false, 1);
        Uploader admin = new Uploader(1, true, Long.MAX_VALUE);

        assertThat(tenant.mayAddTo(7L)).isTrue();
        assertThat(tenant.mayAddTo(8L)).isFalse();
        assertThat(tenant.mayAddTo(null)).isFalse();
        assertThat(admin.mayAddTo(8L)).isTrue();
        assertThat(admin.mayAddTo(null)).isTrue();
    }

    @Test
    void sizesAreWrittenForPeople() {
        assertThat(Uploader.size(1023)).isEqualTo("1023 B");
        assertThat(Uploader.size(1536)).isEqualTo("1.5 KiB");
        assertThat(Uploader.size(10L << 30)).isEqualTo("10.0 GiB");
    }
}
