package dev.serveml.runtime.python;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The filter is run here by a small classic-BPF interpreter (the subset the filter uses) over
 * {@code struct seccomp_data}, so what it answers for a call is checked without a kernel.
 */
class SeccompFilterTest {
    private static final int X86_64 = 0xc000003e;
    private static final int ALLOW = 0x7fff0000;
    private static final int EPERM = 0x00050001;
    private static final int ENOSYS = 0x00050026;
    private static final int KILL = 0x80000000;

    record Insn(int code, int jt, int jf, int k) {
    }

    static List<Insn> program() {
        ByteBuffer b = ByteBuffer.wrap(SeccompFilter.x86_64()).order(ByteOrder.LITTLE_ENDIAN);
        List<Insn> out = new ArrayList<>();
        while (b.hasRemaining()) {
            out.add(new Insn(b.getShort() & 0xffff, b.get() & 0xff, b.get() & 0xff, b.getInt()));
        }
        return out;
    }

    static int run(int arch, int nr, long arg0) {
        List<Insn> p = program();
        int a = 0;
        for (int pc = 0; pc < p.size(); pc++) {
            Insn i = p.get(pc);
            switch (i.code()) {
                case 0x20 -> a = switch (i.k()) {
                    case 0 -> nr;
                    case 4 -> arch;
                    case 16 -> (int) arg0;
                    default -> throw new AssertionError("unexpected load offset " + i.k());
                };
                case 0x15 -> pc += a == i.k() ? i.jt() : i.jf();
                case 0x35 -> pc += Integer.compareUnsigned(a, i.k()) >= 0 ? i.jt() : i.jf();
                case 0x45 -> pc += (a & i.k()) != 0 ? i.jt() : i.jf();
                case 0x06 -> {
                    return i.k();
                }
                default -> throw new AssertionError("unexpected opcode " + i.code());
            }
        }
        throw new AssertionError("fell off the end");
    }

    @Test
    void isWholeRecordsWithinTheKernelsLength() {
        assertThat(SeccompFilter.x86_64().length % 8).isZero();
        assertThat(program()).hasSizeLessThan(4096);
    }

    @Test
    void mountsNamespacesPtraceKeyringsBpfAndIoUringAreRefusedWithEperm() {
        for (int nr : List.of(165, 166, 155, 272, 308, 101, 250, 321, 298, 323, 304, 425, 175, 313, 246, 430)) {
            assertThat(run(X86_64, nr, 0)).as("syscall " + nr).isEqualTo(EPERM);
        }
    }

    @Test
    void everydayCallsAreAllowed() {
        for (int nr : List.of(0, 1, 2, 3, 9, 11, 39, 57, 58, 59, 60, 231, 257, 262, 318)) {
            assertThat(run(X86_64, nr, 0)).as("syscall " + nr).isEqualTo(ALLOW);
        }
    }

    @Test
    void cloneMakesThreadsButNoNamespacesAndClone3FallsBackToIt() {
        long thread = 0x3d0f00; // glibc's pthread_create flags
        assertThat(run(X86_64, 56, thread)).isEqualTo(ALLOW);
        assertThat(run(X86_64, 56, 0x10000000L)).as("CLONE_NEWUSER").isEqualTo(EPERM);
        assertThat(run(X86_64, 56, 0x00020000L | 0x11)).as("CLONE_NEWNS").isEqualTo(EPERM);
        assertThat(run(X86_64, 435, 0)).isEqualTo(ENOSYS);
    }

    @Test
    void anotherArchitectureOrTheX32AbiIsStopped() {
        assertThat(run(0x40000003, 1, 0)).as("i386").isEqualTo(KILL);
        assertThat(run(X86_64, 0x40000000 | 165, 0)).as("x32 mount").isEqualTo(EPERM);
        assertThat(run(X86_64, 0x40000000 | 1, 0)).as("x32 write").isEqualTo(EPERM);
    }
}
