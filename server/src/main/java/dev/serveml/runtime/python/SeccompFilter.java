package dev.serveml.runtime.python;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The seccomp program bubblewrap installs in every sandbox ({@code bwrap --seccomp FD}): a classic
 * BPF filter, as the kernel reads it, that refuses with {@code EPERM} the system calls a model has
 * no business making and that widen the kernel's attack surface (mounts, new namespaces, module
 * loading, ptrace, keyrings, BPF, perf, io_uring, userfaultfd, file handles...), and allows the
 * rest. It is a second wall: the sandbox already runs without capabilities in its own user
 * namespace, so most of these would fail anyway. x86_64 only; other machines run without it
 * (logged), the other walls unchanged.
 */
final class SeccompFilter {
    private static final int AUDIT_ARCH_X86_64 = 0xc000003e;
    /** Syscall numbers with this bit are the x32 ABI: refused as a whole rather than listed twice. */
    private static final int X32_SYSCALL_BIT = 0x40000000;
    private static final int CLONE = 56;
    private static final int CLONE3 = 435;
    /** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET. */
    private static final int CLONE_NEW_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
            | 0x20000000 | 0x40000000;

    /** x86_64 numbers (asm/unistd_64.h) refused with EPERM. */
    static final List<Integer> DENIED_X86_64 = List.of(
            165, 166, 155, 161,          // mount, umount2, pivot_root, chroot
            428, 429, 430, 431, 432, 433, 442, // open_tree, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr
            272, 308,                    // unshare, setns
            101, 310, 311, 312,          // ptrace, process_vm_readv, process_vm_writev, kcmp
            246, 320, 169,               // kexec_load, kexec_file_load, reboot
            175, 313, 176, 174, 177, 178, 134, // init/finit/delete_module, create_module, get_kernel_syms, query_module, uselib
            321, 298, 323,               // bpf, perf_event_open, userfaultfd
            248, 249, 250,               // add_key, request_key, keyctl
            303, 304,                    // name_to_handle_at, open_by_handle_at
            425, 426, 427,               // io_uring_setup, io_uring_enter, io_uring_register
            167, 168, 163, 179, 443,     // swapon, swapoff, acct, quotactl, quotactl_fd
            164, 227, 305, 159,          // settimeofday, clock_settime, clock_adjtime, adjtimex
            170, 171, 172, 173,          // sethostname, setdomainname, iopl, ioperm
            103, 156, 180, 212, 153, 183 // syslog, _sysctl, nfsservctl, lookup_dcookie, vhangup, afs_syscall
    );

    private static final int EPERM = 1;
    private static final int ENOSYS = 38;

    // struct seccomp_data offsets and the classic BPF opcodes used here (linux/filter.h, linux/seccomp.h)
    private static final int NR = 0;
    private static final int ARCH = 4;
    private static final int ARG0_LOW = 16;
    private static final short LD_W_ABS = 0x20;
    private static final short JEQ_K = 0x15;
    private static final short JGE_K = 0x35;
    private static final short JSET_K = 0x45;
    private static final short RET_K = 0x06;
    private static final int RET_ALLOW = 0x7fff0000;
    private static final int RET_KILL_PROCESS = 0x80000000;
    private static final int RET_ERRNO = 0x00050000;

    private SeccompFilter() {
    }

    /** The program for this machine, or empty where there is none (not x86_64). */
    static Optional<byte[]> forThisMachine() {
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        return arch.equals("amd64") || arch.equals("x86_64") ? Optional.of(x86_64()) : Optional.empty();
    }

    /** The x86_64 program: {@code struct sock_filter} records, little-endian, as {@code bwrap --seccomp} reads them. */
    static byte[] x86_64() {
        ByteBuffer out = ByteBuffer.allocate(8 * (8 + 2 * DENIED_X86_64.size() + 5)).order(ByteOrder.LITTLE_ENDIAN);
        // Another ABI (i386 through int 0x80) has other numbers: kill rather than misread them.
        insn(out, LD_W_ABS, 0, 0, ARCH);
        insn(out, JEQ_K, 1, 0, AUDIT_ARCH_X86_64);
        insn(out, RET_K, 0, 0, RET_KILL_PROCESS);
        insn(out, LD_W_ABS, 0, 0, NR);
        insn(out, JGE_K, 0, 1, X32_SYSCALL_BIT);
        insn(out, RET_K, 0, 0, RET_ERRNO | EPERM);
        for (int nr : DENIED_X86_64) {
            insn(out, JEQ_K, 0, 1, nr);
            insn(out, RET_K, 0, 0, RET_ERRNO | EPERM);
        }
        // clone3 hides its flags in memory a filter cannot read; ENOSYS makes glibc fall back to clone.
        insn(out, JEQ_K, 0, 1, CLONE3);
        insn(out, RET_K, 0, 0, RET_ERRNO | ENOSYS);
        // clone is how threads and processes are made: allowed, unless it asks for a new namespace.
        insn(out, JEQ_K, 0, 3, CLONE);
        insn(out, LD_W_ABS, 0, 0, ARG0_LOW);
        insn(out, JSET_K, 0, 1, CLONE_NEW_NAMESPACES);
        insn(out, RET_K, 0, 0, RET_ERRNO | EPERM);
        insn(out, RET_K, 0, 0, RET_ALLOW);
        byte[] program = new byte[out.position()];
        out.flip().get(program);
        return program;
    }

    private static void insn(ByteBuffer out, short code, int jt, int jf, int k) {
        out.putShort(code).put((byte) jt).put((byte) jf).putInt(k);
    }
}
