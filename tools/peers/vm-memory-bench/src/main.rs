// SPDX-License-Identifier: MIT
//
// vm-memory-bench - the workloads of tools/bench_peers.c through the Rust
// vm-memory crate (0.10, GuestMemoryMmap), for `ninja bench-peers`.
//
// Both programs build the same guest memory layout, fill it with the same
// bytes, draw the same random addresses from the same xorshift seed and time
// the same loops the same way: pinned to one CPU, a calibration run, then
// repetitions of about 10 ms each, of which each row prints the median.
// The loops pass their inputs through an empty asm statement on every
// iteration (std::hint::black_box is newer than Debian 12's rustc 1.63),
// so that nothing can be hoisted out of them.
//
// Output, one record a line, tab-separated (tools/bench-peers reads it):
//   cpu     CPU pinned to, or -1
//   check   NAME  VALUE     sum of what the row reads, to compare the sides
//   row     NAME  NS        median ns per operation of this run
//   runs    KEPT  DESCHEDULED
//
// Usage: vm-memory-bench [--reps N] [--cpu N]

use std::arch::asm;
use std::process::exit;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use vm_memory::bitmap::AtomicBitmap;
use vm_memory::{
    Bytes, GuestAddress, GuestMemory, GuestMemoryError, GuestMemoryMmap, GuestRegionMmap,
    MmapRegion,
};

// Scalar rows: one 64 KiB region, values at fixed offsets in it.
const SCALAR_GPA: u64 = 0x100000;
const SCALAR_LEN: u64 = 0x10000;
const SCALAR_READ_OFF: u64 = 0x100;
const SCALAR_WRITE_OFF: u64 = 0x200;

// Copy rows: two adjacent 2 MiB regions.
const COPY_GPA: u64 = 0x4000_0000;
const COPY_REGION: u64 = 0x200000;
const COPY_SIZES: [usize; 3] = [64, 4096, 65536];
const COPY_MAX: usize = 65536;

// Random rows: up to 1024 regions of 64 KiB with 4 KiB holes between.
const RND_GPA: u64 = 0x1_0000_0000;
const RND_REGION: u64 = 0x10000;
const RND_GAP: u64 = 0x1000;
const RND_MAX: usize = 1024;
const RND_ADDRS: usize = 4096;
const RND_COUNTS: [usize; 4] = [1, 16, 256, 1024];
const RND_SEED: u64 = 0x2545_f491_4f6c_dd1d;

const REPS_DEFAULT: usize = 5;
const REP_NS: f64 = 10e6;
const CALIB_NS: f64 = 1e6;
const TRIES: usize = 3;

type Mem = GuestMemoryMmap<()>;
type DirtyMem = GuestMemoryMmap<AtomicBitmap>;
type Addrs = [u64; RND_ADDRS];
type LoopResult = Result<u64, GuestMemoryError>;

// Where loop results go, so that the loops cannot be optimised away.
static mut SINK: u64 = 0;

fn sink(v: u64) {
    // SAFETY: a plain store to a static this single-threaded program only
    // writes; volatile so that it is not removed.
    unsafe { std::ptr::write_volatile(std::ptr::addr_of_mut!(SINK), v) }
}

// Make the compiler forget what it knows about x, at no run-time cost.
#[inline(always)]
fn opaque(mut x: u64) -> u64 {
    // SAFETY: an asm statement that emits only a comment and touches
    // nothing; the compiler must assume it changed x.
    unsafe { asm!("/* {0} */", inout(reg) x, options(nomem, nostack, preserves_flags)) }
    x
}

#[inline(always)]
fn opaque_ptr<T>(p: *const T) -> *const T {
    opaque(p as usize as u64) as usize as *const T
}

#[inline(always)]
fn opaque_ref<T>(r: &T) -> &T {
    // SAFETY: the same pointer comes back, with the same lifetime.
    unsafe { &*opaque_ptr(r) }
}

// Make the compiler assume all memory is read and written here.
#[inline(always)]
fn clobber() {
    // SAFETY: an empty asm statement; without `nomem` it is a compiler
    // barrier for memory.
    unsafe { asm!("", options(nostack, preserves_flags)) }
}

// The timed loops, one function each, not inlined into the timing code.

#[inline(never)]
fn read_fixed<M: GuestMemory>(mem: &M, gpa: u64, n: u64) -> LoopResult {
    let mut acc = 0u64;
    for _ in 0..n {
        let m = opaque_ref(mem);
        let g = opaque(gpa);
        acc = acc.wrapping_add(m.read_obj::<u64>(GuestAddress(g))?);
    }
    sink(acc);
    Ok(acc)
}

#[inline(never)]
fn write_fixed<M: GuestMemory>(mem: &M, gpa: u64, n: u64) -> LoopResult {
    for i in 0..n {
        let m = opaque_ref(mem);
        let g = opaque(gpa);
        m.write_obj::<u64>(i, GuestAddress(g))?;
    }
    sink(n);
    Ok(n)
}

#[inline(never)]
fn read_random<M: GuestMemory>(mem: &M, gpas: &Addrs, n: u64) -> LoopResult {
    let mut acc = 0u64;
    for i in 0..n {
        let g = gpas[(i as usize) & (RND_ADDRS - 1)];
        let m = opaque_ref(mem);
        acc = acc.wrapping_add(m.read_obj::<u64>(GuestAddress(g))?);
    }
    sink(acc);
    Ok(acc)
}

#[inline(never)]
fn write_random<M: GuestMemory>(mem: &M, gpas: &Addrs, n: u64) -> LoopResult {
    for i in 0..n {
        let g = gpas[(i as usize) & (RND_ADDRS - 1)];
        let m = opaque_ref(mem);
        m.write_obj::<u64>(i, GuestAddress(g))?;
    }
    sink(n);
    Ok(n)
}

#[inline(never)]
fn load_acquire<M: GuestMemory>(mem: &M, gpa: u64, n: u64) -> LoopResult {
    let mut acc = 0u64;
    for _ in 0..n {
        let m = opaque_ref(mem);
        let g = opaque(gpa);
        acc = acc.wrapping_add(m.load::<u64>(GuestAddress(g), Ordering::Acquire)?);
    }
    sink(acc);
    Ok(acc)
}

#[inline(never)]
fn store_release<M: GuestMemory>(mem: &M, gpa: u64, n: u64) -> LoopResult {
    for i in 0..n {
        let m = opaque_ref(mem);
        let g = opaque(gpa);
        m.store::<u64>(i, GuestAddress(g), Ordering::Release)?;
    }
    sink(n);
    Ok(n)
}

// Copies: the buffer and the length go through opaque() too, as on the C
// side, and clobber() keeps every copy's result observable.
#[inline(never)]
fn read_copy<M: GuestMemory>(mem: &M, gpa: u64, buf: &mut [u8], n: u64) -> LoopResult {
    for _ in 0..n {
        let m = opaque_ref(mem);
        let g = opaque(gpa);
        let p = opaque_ptr(buf.as_ptr()) as *mut u8;
        let len = opaque(buf.len() as u64) as usize;
        // SAFETY: p and len are buf's own pointer and length.
        let b = unsafe { std::slice::from_raw_parts_mut(p, len) };
        m.read_slice(b, GuestAddress(g))?;
        clobber();
    }
    let acc = buf[0] as u64 + buf[buf.len() - 1] as u64;
    sink(acc);
    Ok(acc)
}

#[inline(never)]
fn write_copy<M: GuestMemory>(mem: &M, gpa: u64, buf: &[u8], n: u64) -> LoopResult {
    for _ in 0..n {
        let m = opaque_ref(mem);
        let g = opaque(gpa);
        let p = opaque_ptr(buf.as_ptr());
        let len = opaque(buf.len() as u64) as usize;
        // SAFETY: p and len are buf's own pointer and length.
        let b = unsafe { std::slice::from_raw_parts(p, len) };
        m.write_slice(b, GuestAddress(g))?;
        clobber();
    }
    sink(n);
    Ok(n)
}

// Timing.

// Involuntary context switches of this thread so far.
fn nivcsw() -> i64 {
    // SAFETY: getrusage() fills the zeroed struct it is given.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_THREAD, &mut ru) != 0 {
            return 0;
        }
        ru.ru_nivcsw as i64
    }
}

struct Stats {
    runs: u64,
    descheduled: u64,
}

fn time_loop(f: &mut dyn FnMut(u64) -> LoopResult, n: u64) -> Result<f64, GuestMemoryError> {
    let t0 = Instant::now();
    f(n)?;
    Ok(t0.elapsed().as_nanos() as f64)
}

// One repetition: a run during which the thread was descheduled also timed
// another process, so run again, up to TRIES runs, and keep the fastest.
fn time_rep(
    f: &mut dyn FnMut(u64) -> LoopResult,
    n: u64,
    st: &mut Stats,
) -> Result<f64, GuestMemoryError> {
    let mut best = f64::MAX;
    let mut undisturbed = false;
    for _ in 0..TRIES {
        let before = nivcsw();
        let ns = time_loop(f, n)?;
        if ns < best {
            best = ns;
        }
        if nivcsw() == before {
            undisturbed = true;
            break;
        }
    }
    st.runs += 1;
    if !undisturbed {
        st.descheduled += 1;
    }
    Ok(best / n as f64)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

// Calibrate, warm up, then time reps repetitions; the median in ns/op.
fn run_row(
    f: &mut dyn FnMut(u64) -> LoopResult,
    reps: usize,
    st: &mut Stats,
) -> Result<f64, GuestMemoryError> {
    let mut n: u64 = 1;
    let mut ns;
    loop {
        ns = time_loop(f, n)?;
        if ns >= CALIB_NS || n >= 1 << 40 {
            break;
        }
        n *= 2;
    }
    let per_op = ns / n as f64;
    let n = ((REP_NS / per_op) as u64).max(1);
    time_loop(f, n / 8 + 1)?;
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        t.push(time_rep(f, n, st)?);
    }
    Ok(median(&mut t))
}

// Setup.

fn die(what: &str, err: &dyn std::fmt::Display) -> ! {
    eprintln!("vm-memory-bench: {}: {}", what, err);
    exit(1);
}

// The same bytes as the C side: word i of a buffer is (i + 1) * K.
fn pattern(len: usize, base: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    for i in (0..len as u64).step_by(8) {
        let w = (base + i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        v.extend_from_slice(&w.to_le_bytes());
    }
    v
}

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn rnd_gpa(i: usize) -> u64 {
    RND_GPA + i as u64 * (RND_REGION + RND_GAP)
}

fn pin_cpu(want: Option<usize>) -> i64 {
    // SAFETY: sched_getcpu() and sched_setaffinity() with a zeroed set of
    // the size passed.
    unsafe {
        let cpu = match want {
            Some(c) => c,
            None => {
                let c = libc::sched_getcpu();
                if c < 0 {
                    return -1;
                }
                c as usize
            }
        };
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if cpu >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
            return -1;
        }
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return -1;
        }
        cpu as i64
    }
}

fn usage() -> ! {
    eprintln!("usage: vm-memory-bench [--reps N] [--cpu N]");
    exit(2);
}

fn main() {
    let mut reps = REPS_DEFAULT;
    let mut want_cpu = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = match a.as_str() {
            "--reps" | "--cpu" => match args.next().map(|s| s.parse::<usize>()) {
                Some(Ok(v)) => v,
                _ => usage(),
            },
            _ => usage(),
        };
        if a == "--reps" {
            reps = v.max(1);
        } else {
            want_cpu = Some(v);
        }
    }

    // Scalar rows, plain and dirty-tracked.
    let scalar: Mem = Mem::from_ranges(&[(GuestAddress(SCALAR_GPA), SCALAR_LEN as usize)])
        .unwrap_or_else(|e| die("GuestMemoryMmap::from_ranges", &e));
    let dirty: DirtyMem =
        DirtyMem::from_ranges(&[(GuestAddress(SCALAR_GPA), SCALAR_LEN as usize)])
            .unwrap_or_else(|e| die("GuestMemoryMmap<AtomicBitmap>::from_ranges", &e));
    let fill = pattern(SCALAR_LEN as usize, 0);
    scalar
        .write_slice(&fill, GuestAddress(SCALAR_GPA))
        .unwrap_or_else(|e| die("write_slice", &e));
    // Also sets the page's dirty bit, as for every write but the first to
    // a page between two harvests.
    dirty
        .write_slice(&fill, GuestAddress(SCALAR_GPA))
        .unwrap_or_else(|e| die("write_slice (dirty)", &e));

    // Copy rows: two adjacent regions.
    let copy: Mem = Mem::from_ranges(&[
        (GuestAddress(COPY_GPA), COPY_REGION as usize),
        (GuestAddress(COPY_GPA + COPY_REGION), COPY_REGION as usize),
    ])
    .unwrap_or_else(|e| die("GuestMemoryMmap::from_ranges (copies)", &e));
    copy.write_slice(&pattern(2 * COPY_REGION as usize, 0), GuestAddress(COPY_GPA))
        .unwrap_or_else(|e| die("write_slice (copies)", &e));
    // memcpy's speed depends on how source and destination are aligned:
    // the host buffer starts on a page on both sides, as the regions do.
    let mut copy_vec = vec![0x5au8; COPY_MAX + 4096];
    let skip = copy_vec.as_ptr().align_offset(4096);
    let copy_buf = &mut copy_vec[skip..skip + COPY_MAX];

    // Random rows: the regions are shared by the four sets, as on the C side.
    let mut regions = Vec::with_capacity(RND_MAX);
    for i in 0..RND_MAX {
        let m = MmapRegion::new(RND_REGION as usize).unwrap_or_else(|e| die("MmapRegion::new", &e));
        let r = GuestRegionMmap::new(m, GuestAddress(rnd_gpa(i)))
            .unwrap_or_else(|e| die("GuestRegionMmap::new", &e));
        regions.push(Arc::new(r));
    }
    let mut rnd: Vec<Mem> = Vec::new();
    for &count in RND_COUNTS.iter() {
        rnd.push(
            Mem::from_arc_regions(regions[..count].to_vec())
                .unwrap_or_else(|e| die("GuestMemoryMmap::from_arc_regions", &e)),
        );
    }
    for i in 0..RND_MAX {
        let fill = pattern(RND_REGION as usize, i as u64 * RND_REGION);
        rnd[RND_COUNTS.len() - 1]
            .write_slice(&fill, GuestAddress(rnd_gpa(i)))
            .unwrap_or_else(|e| die("write_slice (random)", &e));
    }
    let mut x = RND_SEED;
    let mut gpas: Vec<Box<Addrs>> = Vec::new();
    for &count in RND_COUNTS.iter() {
        let mut a = Box::new([0u64; RND_ADDRS]);
        for g in a.iter_mut() {
            let reg = xorshift(&mut x) % count as u64;
            let off = xorshift(&mut x) % (RND_REGION / 8) * 8;
            *g = rnd_gpa(reg as usize) + off;
        }
        gpas.push(a);
    }

    let cpu = pin_cpu(want_cpu);
    println!("cpu\t{}", cpu);

    // What the reading rows see, for the driver to compare with C's.
    let v = scalar
        .read_obj::<u64>(GuestAddress(SCALAR_GPA + SCALAR_READ_OFF))
        .unwrap_or_else(|e| die("read_obj", &e));
    println!("check\tread u64, fixed gpa\t{:#x}", v);
    for (k, &count) in RND_COUNTS.iter().enumerate() {
        let sum = read_random(&rnd[k], &gpas[k], RND_ADDRS as u64)
            .unwrap_or_else(|e| die("read_obj (random)", &e));
        println!("check\trandom read u64, {} region{}\t{:#x}", count, plural(count), sum);
    }

    let mut rows: Vec<(String, Box<dyn FnMut(u64) -> LoopResult + '_>)> = Vec::new();
    let rd = SCALAR_GPA + SCALAR_READ_OFF;
    let wr = SCALAR_GPA + SCALAR_WRITE_OFF;
    rows.push(("read u64, fixed gpa".into(), Box::new(|n| read_fixed(&scalar, rd, n))));
    rows.push(("write u64, fixed gpa".into(), Box::new(|n| write_fixed(&scalar, wr, n))));
    for (k, &count) in RND_COUNTS.iter().enumerate() {
        let (m, a) = (&rnd[k], &*gpas[k]);
        let name = format!("random read u64, {} region{}", count, plural(count));
        rows.push((name, Box::new(move |n| read_random(m, a, n))));
    }
    for (k, &count) in RND_COUNTS.iter().enumerate() {
        let (m, a) = (&rnd[k], &*gpas[k]);
        let name = format!("random write u64, {} region{}", count, plural(count));
        rows.push((name, Box::new(move |n| write_random(m, a, n))));
    }
    rows.push(("atomic load u64, acquire".into(), Box::new(|n| load_acquire(&scalar, rd, n))));
    rows.push(("atomic store u64, release".into(), Box::new(|n| store_release(&scalar, wr, n))));
    rows.push(("write u64, dirty-tracked".into(), Box::new(|n| write_fixed(&dirty, wr, n))));

    let mut results: Vec<(String, f64)> = Vec::new();
    let mut st = Stats { runs: 0, descheduled: 0 };
    for (name, f) in rows.iter_mut() {
        let ns = run_row(f.as_mut(), reps, &mut st).unwrap_or_else(|e| die(name, &e));
        results.push((name.clone(), ns));
    }
    drop(rows);

    // Copies within one region start at its first byte; across the
    // boundary their middle is the boundary.
    for write in [false, true] {
        for &len in COPY_SIZES.iter() {
            for cross in [false, true] {
                let off = if cross { COPY_REGION - len as u64 / 2 } else { 0 };
                let gpa = COPY_GPA + off;
                let buf = &mut copy_buf[..len];
                let name = format!(
                    "{} {}{}",
                    if write { "write" } else { "read" },
                    size_label(len),
                    if cross { ", 2 regions" } else { "" }
                );
                let mut f: Box<dyn FnMut(u64) -> LoopResult> = if write {
                    Box::new(|n| write_copy(&copy, gpa, buf, n))
                } else {
                    Box::new(|n| read_copy(&copy, gpa, buf, n))
                };
                let ns = run_row(f.as_mut(), reps, &mut st).unwrap_or_else(|e| die(&name, &e));
                results.push((name, ns));
            }
        }
    }

    for (name, ns) in results.iter() {
        println!("row\t{}\t{:.4}", name, ns);
    }
    println!("runs\t{}\t{}", st.runs, st.descheduled);
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn size_label(len: usize) -> String {
    if len >= 1024 {
        format!("{} KiB", len / 1024)
    } else {
        format!("{} B", len)
    }
}
