//! Reading files and standard input.

use std::io::Read;
use std::path::Path;

/// The bytes of `path`, or of standard input when `path` is `-`.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(|e| format!("reading standard input: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

pub fn read_text(path: &Path) -> Result<String, String> {
    String::from_utf8(read_bytes(path)?).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

/// Writes `text` to `path`, or to standard output when `path` is `None` or `-`.
pub fn write_text(path: Option<&Path>, text: &str) -> Result<(), String> {
    match path {
        Some(p) if p != Path::new("-") => std::fs::write(p, text).map_err(|e| format!("writing {}: {e}", p.display())),
        _ => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Writes a secret (a key) readable by its owner only (mode 0600 on Unix).
pub fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| format!("writing {}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| format!("writing {}: {e}", path.display()))
}
