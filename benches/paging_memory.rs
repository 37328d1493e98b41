//! Peak memory of the paging stream over 10 000 and 100 000 keys: it should be
//! flat, about one page, whatever the total.
//!
//! Run with `cargo bench -p h2ogpte-benches --bench paging_memory`. Linux only: it reads the
//! process's resident-set high-water mark (`VmHWM`) after resetting it through
//! `/proc/self/clear_refs`, so the figure is the extra memory the stream
//! touched beyond what was resident when it started (the server's keys are
//! seeded before that). The server runs in-process and its per-page response
//! buffers count too.

use std::time::Instant;

use futures::TryStreamExt;
use h2ogpte_api_keys::{Client, ListQuery};
use h2ogpte_fake_server::FakeServer;

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("| keys | page size | keys streamed | time | RSS at start | peak extra memory |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for total in [10_000u32, 100_000] {
        let server = rt
            .block_on(FakeServer::builder().plain_keys(total).start())
            .expect("fake server");
        let client = Client::builder()
            .with_server_url(server.url())
            .with_api_key(server.admin_key())
            .build()
            .expect("client");
        // Warm the connection pool and the allocator's arenas first.
        rt.block_on(client.list_all_api_keys(&ListQuery::new()))
            .expect("warm-up");
        let before = status_kib("VmRSS:").unwrap_or(0);
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let started = Instant::now();
        let count = rt
            .block_on(
                client
                    .stream_all_api_keys(&ListQuery::new())
                    .try_fold(0u64, |n, _| async move { Ok(n + 1) }),
            )
            .expect("stream");
        let elapsed = started.elapsed();
        let peak = status_kib("VmHWM:").unwrap_or(0);
        let extra = if reset {
            format!("{} KiB", peak.saturating_sub(before))
        } else {
            "n/a (cannot reset VmHWM)".to_owned()
        };
        println!(
            "| {total} | 100 | {count} | {:.2} s | {} MiB | {extra} |",
            elapsed.as_secs_f64(),
            before / 1024
        );
        assert_eq!(
            count,
            u64::from(total) + 1,
            "every seeded key and the admin key"
        );
        drop(client);
        rt.block_on(server.shutdown());
    }
}
