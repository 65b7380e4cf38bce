//! Precompressed static assets: `assent compress-assets` writes a `.br` and a `.gz` beside
//! each file of the bundle, once per build, at the highest levels; the server then sends
//! whichever the browser accepts without compressing anything per request.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The files worth compressing: the bundle's code, styles and markup.
const COMPRESSIBLE: [&str; 5] = ["wasm", "js", "css", "html", "svg"];

#[derive(Debug)]
pub struct Compressed {
    pub file: PathBuf,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

/// Compresses every compressible file under `dir`, replacing older `.br` and `.gz` files.
pub fn compress_dir(dir: &Path) -> std::io::Result<Vec<Compressed>> {
    let mut done = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            done.extend(compress_dir(&path)?);
            continue;
        }
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| COMPRESSIBLE.contains(&e));
        if !compressible {
            continue;
        }
        let raw = std::fs::read(&path)?;
        let gzip = gzip(&raw)?;
        let brotli = brotli(&raw)?;
        std::fs::write(with_suffix(&path, "gz"), &gzip)?;
        std::fs::write(with_suffix(&path, "br"), &brotli)?;
        done.push(Compressed {
            file: path,
            raw: raw.len() as u64,
            gzip: gzip.len() as u64,
            brotli: brotli.len() as u64,
        });
    }
    Ok(done)
}

pub fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data)?;
    encoder.finish()
}

pub fn brotli(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 11, 24);
        writer.write_all(data)?;
    }
    Ok(out)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_both_encodings_beside_each_bundle_file_and_skips_the_rest() {
        let dir = std::env::temp_dir().join(format!("assent-assets-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        let body = "body { color: red; }\n".repeat(200);
        std::fs::write(dir.join("pkg/app.css"), &body).unwrap();
        std::fs::write(dir.join("pkg/logo.png"), b"not text").unwrap();
        let done = compress_dir(&dir).unwrap();
        assert_eq!(done.len(), 1);
        assert!(done[0].brotli < done[0].raw && done[0].gzip < done[0].raw);
        let mut decoded = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(
                &std::fs::read(dir.join("pkg/app.css.gz")).unwrap()[..],
            ),
            &mut decoded,
        )
        .unwrap();
        assert_eq!(decoded, body);
        assert!(dir.join("pkg/app.css.br").exists());
        assert!(!dir.join("pkg/logo.png.br").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
