//! The release bundle's sizes, raw, gzip and brotli, and what the server actually sends.

use serde_json::json;

use crate::report::Report;
use crate::servers::Cluster;
use crate::{BenchResult, Options};

pub async fn measure(options: &Options, cluster: &Cluster, report: &mut Report) -> BenchResult<()> {
    let pkg = options.site_root.join("pkg");
    let mut wasm_js_gzip = 0;
    let mut wasm_js_brotli = 0;
    for name in ["assent.wasm", "assent.js", "assent.css"] {
        let raw = std::fs::read(pkg.join(name)).map_err(|e| {
            format!(
                "{}: {e}; run `cargo leptos build --release`",
                pkg.join(name).display()
            )
        })?;
        let gzip = server::assets::gzip(&raw)?.len();
        let brotli = server::assets::brotli(&raw)?.len();
        if name != "assent.css" {
            wasm_js_gzip += gzip;
            wasm_js_brotli += brotli;
        }
        report.figure(
            &format!("bundle_{}", name.replace('.', "_")),
            json!({ "raw": raw.len(), "gzip": gzip, "brotli": brotli }),
            "bytes",
            &format!("{name}: raw / gzip -9 / brotli 11"),
        );
    }
    report.figure(
        "bundle_wasm_js_gzip",
        wasm_js_gzip as u64,
        "bytes",
        "Dashboard WASM + JS, gzipped (target < 250 KB)",
    );
    report.figure(
        "bundle_wasm_js_brotli",
        wasm_js_brotli as u64,
        "bytes",
        "Dashboard WASM + JS, brotli",
    );

    // What a browser gets over the wire.
    let http = reqwest::Client::builder().no_gzip().no_brotli().build()?;
    for encoding in ["br", "gzip"] {
        let response = http
            .get(format!("{}/pkg/assent.wasm", cluster.servers[0].base_url))
            .header("accept-encoding", encoding)
            .send()
            .await?;
        let served = response
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .to_string();
        let bytes = response.bytes().await?.len();
        report.figure(
            &format!("served_wasm_{encoding}"),
            json!({ "content_encoding": served, "bytes": bytes }),
            "",
            &format!("assent.wasm requested with Accept-Encoding: {encoding}"),
        );
    }
    let precompressed = pkg.join("assent.wasm.br").exists() && pkg.join("assent.wasm.gz").exists();
    report.figure(
        "bundle_precompressed",
        precompressed,
        "",
        "Served precompressed (.br and .gz written by `assent compress-assets`)",
    );
    Ok(())
}
