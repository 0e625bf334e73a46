//! A newc ("070701") cpio archive writer: what the kernel unpacks as initramfs.

pub struct Cpio {
    out: Vec<u8>,
    ino: u32,
}

pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFCHR: u32 = 0o020000;

impl Default for Cpio {
    fn default() -> Self {
        Self::new()
    }
}

impl Cpio {
    pub fn new() -> Self {
        Self {
            out: Vec::new(),
            ino: 1,
        }
    }

    fn entry(&mut self, name: &str, mode: u32, nlink: u32, rdev: (u32, u32), data: &[u8]) {
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime: reproducible archives
            data.len() as u32,
            0,
            0, // dev major/minor
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0, // check
        ];
        self.ino += 1;
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    pub fn dir(&mut self, name: &str) {
        self.entry(name, S_IFDIR | 0o755, 2, (0, 0), &[]);
    }
    pub fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, S_IFREG | mode, 1, (0, 0), data);
    }
    pub fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, S_IFLNK | 0o777, 1, (0, 0), target.as_bytes());
    }
    pub fn char_dev(&mut self, name: &str, mode: u32, major: u32, minor: u32) {
        self.entry(name, S_IFCHR | mode, 1, (major, minor), &[]);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, 1, (0, 0), &[]);
        // Pad to 512 like cpio(1) does.
        while !self.out.len().is_multiple_of(512) {
            self.out.push(0);
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(hdr: &[u8], i: usize) -> u32 {
        u32::from_str_radix(std::str::from_utf8(&hdr[6 + 8 * i..14 + 8 * i]).unwrap(), 16).unwrap()
    }

    #[test]
    fn header_name_and_data_are_4_byte_aligned() {
        let mut c = Cpio::new();
        c.file("init", 0o755, b"#!/bin/sh\n");
        let a = c.finish();
        assert_eq!(&a[..6], b"070701");
        assert_eq!(field(&a, 1), S_IFREG | 0o755);
        assert_eq!(field(&a, 6), 10);
        assert_eq!(field(&a, 11), 5); // "init\0"
        // 110-byte header + 5-byte name = 115 -> data at 116.
        assert_eq!(&a[116..126], b"#!/bin/sh\n");
        let trailer = a.windows(10).position(|w| w == b"TRAILER!!!").unwrap();
        assert_eq!((trailer - 110) % 4, 0);
        assert_eq!(a.len() % 512, 0);
    }

    /// The host's cpio(1) reads what we write, when it is installed.
    #[test]
    fn host_cpio_lists_the_archive() {
        if !crate::cmd::have("cpio") {
            eprintln!("cpio(1) not installed: skipping the cross-check");
            return;
        }
        let mut c = Cpio::new();
        c.dir("bin");
        c.file("bin/busybox", 0o755, &[1, 2, 3]);
        c.symlink("bin/sh", "busybox");
        c.char_dev("dev/console", 0o600, 5, 1);
        let a = c.finish();
        let dir = std::env::temp_dir().join(format!("xtask-cpio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.cpio");
        std::fs::write(&f, &a).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("cpio -itv < {}", f.display()))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("bin/sh -> busybox"), "{text}");
        assert!(text.contains("crw-------"), "{text}");
        assert!(text.contains("bin/busybox"), "{text}");
    }
}
