"""Helpers the benchmarks share: running commands, the release build, lab links,
servers started and awaited inside a lab namespace, and the host's busy time."""
import mmap, os, subprocess, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NSLAB = os.path.join(ROOT, "lab", "nslab")
GIB = float(1 << 30)


def sh(*args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw).stdout


def build(*packages):
    """Installs missing Debian packages (plus `packages`), builds release; returns the binaries' directory."""
    subprocess.run([os.path.join(ROOT, "scripts", "install-deps"), *packages], check=True)
    subprocess.run(["swift", "build", "-c", "release", "--package-path", ROOT], check=True, stdout=subprocess.DEVNULL)
    return sh("swift", "build", "-c", "release", "--package-path", ROOT, "--show-bin-path").strip()


def nslab_up(*options, env=None):
    """Creates a lab (lab/nslab up OPTIONS) and returns its NSLAB_* variables."""
    return dict(line.split("=", 1) for line in sh(NSLAB, "up", *options, env=env).split())


def nslab_down(variables):
    subprocess.run([NSLAB, "down", variables["NSLAB_ID"]], check=False)


def in_ns(ns, *cmd):
    return ["ip", "netns", "exec", ns] + list(cmd)


def start_listening(ns, port, cmd):
    """Starts a server in `ns` and returns once something listens on `port` (5 s at most)."""
    server = subprocess.Popen(in_ns(ns, *cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if f":{port} " in sh(*in_ns(ns, "ss", "-Hltn")):
            break
        time.sleep(0.05)
    return server


def stop(server):
    server.kill()
    server.wait()


def read_into_cache(*paths):
    """Reads each file once so its pages are in the page cache when a run starts.

    A file a run sends "through the page cache" may not be there: this host runs
    DAMON proactive reclaim (kdamond: pages unaccessed for about 60 s are paged out),
    so between two rounds a large payload drifts back to the disk, and the run that
    follows pays for reading it (booked to the sender, and to whichever end the block
    layer's completions interrupt)."""
    buffer = bytearray(1 << 20)
    for path in paths:
        with open(path, "rb", buffering=0) as source:
            while source.readinto(buffer):
                pass


def lay_out_as_iperf3_does(path):
    """Makes `path` again, with the same bytes, the way iperf3 -Z makes the file it
    sends from: a new file sized with ftruncate and filled through a shared mapping
    (renamed over `path`, so a server that opens it per run sends the new one).

    How a file came into the page cache decides the size of its folios, and sendfile's
    cost per byte with them: on Linux 6.18 one 128 KiB write leaves a single 128 KiB
    folio, which behind a 1 Gbit/s shaper cost 6-10 % less of the sender's CPU per GiB
    than the same file in 4 KiB folios (README, "Performance"); iperf3's way leaves 4
    KiB folios, and so does reading the file back after the host paged it out. Remade
    before each run, nettune's small file is laid out as iperf3's is, whatever happened
    to it before."""
    with open(path, "rb") as source:
        data = source.read()
    fresh = path + ".new"
    fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.ftruncate(fd, len(data))
        with mmap.mmap(fd, len(data), flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE) as mapping:
            mapping[:] = data
    finally:
        os.close(fd)
    os.replace(fresh, path)


def host_busy_seconds():
    """CPU time the whole machine spent busy (user, system, irq, softirq) so far."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def local_timer_interrupts():
    """Local timer interrupts on every CPU so far (/proc/interrupts, LOC). Where the
    host has no fq qdisc, a BBR sender paces with one such timer per held-back
    segment burst (tcp_pace_kick), so their count per GiB shows how often pacing held
    a sender back; the scheduler's tick adds a few thousand per second (HZ per CPU)."""
    with open("/proc/interrupts") as interrupts:
        for line in interrupts:
            fields = line.split()
            if fields and fields[0] == "LOC:":
                return sum(int(v) for v in fields[1:1 + os.cpu_count()] if v.isdigit())
    return 0


def host_description():
    """The CPU, its count and the kernel, printed with every result: figures from
    different machines differ (on one AMD EPYC host the kernel's copy into a buffer
    16 bytes past a page ran at half the speed it had on the host before)."""
    fields = {}
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if not line.strip():
                break  # the first CPU's block is enough
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    model = f"{fields.get('model name', 'unknown CPU')} (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')})"
    return f"host: {model}, {os.cpu_count()} CPUs, Linux {os.uname().release}"
