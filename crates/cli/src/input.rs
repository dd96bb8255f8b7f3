//! Reading files and standard input.

use std::io::Read;
use std::path::{Path, PathBuf};

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
    write_output(path, text, Access::AsBefore)
}

/// As [`write_text`], a file written with `access`.
pub fn write_output(path: Option<&Path>, text: &str, access: Access) -> Result<(), String> {
    match path {
        Some(p) if p != Path::new("-") => replace_file(p, text, access),
        _ => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Writes a secret (a key, a credential) readable by its owner only (mode 0600 on Unix), also
/// when the file was there before with a wider mode.
pub fn write_private(path: &Path, text: &str) -> Result<(), String> {
    replace_file(path, text, Access::OwnerOnly)
}

/// Who may read a file [`replace_file`] writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    /// Mode 0600 on Unix, whatever the file had before.
    OwnerOnly,
    /// The mode the file had; a new file gets the default (0666 less the umask).
    AsBefore,
}

/// Replaces the file at `path` with `text` in one step: the text goes to a new file beside it,
/// is flushed to disk, and is renamed over the old one. A crash or a full disk leaves either the
/// old file or the new one, never a truncated mix. A symbolic link is followed, so the file it
/// points to is replaced and the link stays. What is not a regular file (`/dev/stdout`, a
/// FIFO, a device) is written in place: renaming over it would replace the device itself.
pub fn replace_file(path: &Path, text: &str, access: Access) -> Result<(), String> {
    let failed = |e: std::io::Error| format!("writing {}: {e}", path.display());
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => link_target(path).map_err(failed)?,
        _ => path.to_path_buf(),
    };
    if std::fs::metadata(&target).is_ok_and(|meta| !meta.is_file()) {
        return std::fs::write(&target, text).map_err(failed);
    }
    let (temp, mut file) = sibling_temp(&target, access).map_err(failed)?;
    let written = write_and_sync(&mut file, text.as_bytes())
        .and_then(|()| keep_mode(&target, &temp, access))
        .and_then(|()| std::fs::rename(&temp, &target));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(failed(e));
    }
    sync_directory(&target);
    Ok(())
}

/// Creates the file at `path` with `text` (owner-only) unless a file is already there, in one step:
/// readers see no file or the whole text. `Ok(false)` when the file was there (possibly just
/// written by another process), which is then left as it is.
pub fn create_private_once(path: &Path, text: &str) -> Result<bool, String> {
    let failed = |e: std::io::Error| format!("writing {}: {e}", path.display());
    let (temp, mut file) = sibling_temp(path, Access::OwnerOnly).map_err(failed)?;
    let linked = write_and_sync(&mut file, text.as_bytes()).and_then(|()| std::fs::hard_link(&temp, path));
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            sync_directory(path);
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        // Some network and FUSE file systems have no hard links: create the file exclusively.
        Err(e) if matches!(e.kind(), std::io::ErrorKind::Unsupported | std::io::ErrorKind::PermissionDenied) => {
            create_exclusively(path, text).map_err(failed)
        }
        Err(e) => Err(failed(e)),
    }
}

fn create_exclusively(path: &Path, text: &str) -> std::io::Result<bool> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => write_and_sync(&mut file, text.as_bytes()).map(|()| true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

fn link_target(link: &Path) -> std::io::Result<std::path::PathBuf> {
    std::fs::canonicalize(link).or_else(|_| {
        // A link to a file not there yet: the file is created where it points.
        let to = std::fs::read_link(link)?;
        Ok(link.parent().map(|dir| dir.join(&to)).unwrap_or(to))
    })
}

fn sibling_temp(target: &Path, access: Access) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut last = std::io::Error::other("no temporary name was free");
    for _ in 0..16 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let temp = target.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if access == Access::OwnerOnly {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        match options.open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

fn write_and_sync(file: &mut std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    file.write_all(bytes)?;
    file.sync_all()
}

fn keep_mode(target: &Path, temp: &Path, access: Access) -> std::io::Result<()> {
    match (access, std::fs::metadata(target)) {
        (Access::AsBefore, Ok(before)) => std::fs::set_permissions(temp, before.permissions()),
        _ => Ok(()),
    }
}

/// Makes a rename durable (Unix); where a directory cannot be opened this is a no-op.
fn sync_directory(path: &Path) {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// A path in `dir` no file has yet, `<stem>-<now>.<extension>` (or `…-<now>-<n>.<extension>`),
/// for a copy kept before something is written over.
pub fn unused_path(dir: &Path, stem: &str, extension: &str) -> Result<PathBuf, String> {
    let stamp = crate::clock::now().to_string().replace(':', "-");
    (0..100)
        .map(|n| match n {
            0 => dir.join(format!("{stem}-{stamp}.{extension}")),
            n => dir.join(format!("{stem}-{stamp}-{n}.{extension}")),
        })
        .find(|path| !path.exists())
        .ok_or_else(|| format!("{} holds too many {stem} files from this second", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::{Access, create_private_once, replace_file, write_private};
    use std::path::{Path, PathBuf};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("idfed-input-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    #[cfg(unix)]
    fn a_private_file_is_owner_only_even_when_it_was_readable_before() {
        let dir = scratch("private");
        let path = dir.join("key.pem");
        std::fs::write(&path, "old, long enough to show any truncation left behind").unwrap();
        set_mode(&path, 0o644);
        write_private(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(entries(&dir), ["key.pem"], "no temporary file stays behind");
        write_private(&dir.join("fresh.pem"), "x").unwrap();
        assert_eq!(mode(&dir.join("fresh.pem")), 0o600);
    }

    #[test]
    #[cfg(unix)]
    fn a_replaced_file_keeps_its_mode_and_a_link_stays_a_link() {
        let dir = scratch("mode");
        let real = dir.join("real-config");
        std::fs::write(&real, "[default]\n").unwrap();
        set_mode(&real, 0o640);
        let link = dir.join("config");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        replace_file(&link, "[profile a]\n", Access::AsBefore).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is kept");
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "[profile a]\n");
        assert_eq!(mode(&real), 0o640);
        assert_eq!(entries(&dir), ["config", "real-config"]);

        let dangling = dir.join("credentials");
        std::os::unix::fs::symlink("elsewhere", &dangling).unwrap();
        replace_file(&dangling, "[b]\n", Access::OwnerOnly).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("elsewhere")).unwrap(), "[b]\n");
        assert_eq!(mode(&dir.join("elsewhere")), 0o600);
    }

    #[test]
    fn a_failed_replacement_leaves_what_was_there_and_no_temporary_file() {
        let dir = scratch("failed");
        let target = dir.join("taken");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), "kept").unwrap();
        let err = replace_file(&target, "text", Access::AsBefore).unwrap_err();
        assert!(err.starts_with(&format!("writing {}: ", target.display())), "{err}");
        assert_eq!(std::fs::read_to_string(target.join("inside")).unwrap(), "kept");
        assert_eq!(entries(&dir), ["taken"]);
        let missing = dir.join("no-such-dir").join("file");
        assert!(replace_file(&missing, "text", Access::AsBefore).is_err());
    }

    #[test]
    #[cfg(unix)]
    fn what_is_not_a_regular_file_is_written_in_place() {
        let dir = scratch("device");
        let link = dir.join("out");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        replace_file(&link, "export", Access::AsBefore).unwrap();
        let null = std::fs::metadata("/dev/null").unwrap();
        assert!(!null.is_file(), "/dev/null is still a device");
        assert_eq!(entries(&dir), ["out"], "no temporary file in the directory");
        assert!(entries(Path::new("/dev")).iter().all(|n| !n.starts_with(".null.")), "nor in /dev");
    }

    #[test]
    fn a_file_created_once_is_never_replaced() {
        let dir = scratch("once");
        let path = dir.join("secret.key");
        assert!(create_private_once(&path, "first\n").unwrap());
        assert!(!create_private_once(&path, "second\n").unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first\n");
        assert_eq!(entries(&dir), ["secret.key"]);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }
}
