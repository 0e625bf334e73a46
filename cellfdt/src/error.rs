/// libfdt's error set; `code()` gives libfdt's negative `FDT_ERR_*` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Error {
    /// The node or property does not exist (`FDT_ERR_NOTFOUND`).
    NotFound = 1,
    /// A node of that name already exists (`FDT_ERR_EXISTS`).
    Exists = 2,
    /// The buffer or the blob's free space is too small (`FDT_ERR_NOSPACE`).
    NoSpace = 3,
    /// The offset is not a tag of the right kind (`FDT_ERR_BADOFFSET`).
    BadOffset = 4,
    /// The path is malformed or names a missing or invalid alias (`FDT_ERR_BADPATH`).
    BadPath = 5,
    /// The phandle is 0 or -1 (`FDT_ERR_BADPHANDLE`).
    BadPhandle = 6,
    /// The sequential writer is not in a state for this call (`FDT_ERR_BADSTATE`).
    BadState = 7,
    /// The blob or a structure in it runs past the buffer (`FDT_ERR_TRUNCATED`).
    Truncated = 8,
    /// No FDT magic number (`FDT_ERR_BADMAGIC`).
    BadMagic = 9,
    /// A version this call does not handle (`FDT_ERR_BADVERSION`).
    BadVersion = 10,
    /// The structure block is corrupt (`FDT_ERR_BADSTRUCTURE`).
    BadStructure = 11,
    /// The blocks are not in the order edits need; `open_into` fixes that (`FDT_ERR_BADLAYOUT`).
    BadLayout = 12,
    /// An inconsistency that should not happen (`FDT_ERR_INTERNAL`).
    Internal = 13,
    /// `#address-cells`/`#size-cells` out of range (`FDT_ERR_BADNCELLS`).
    BadNCells = 14,
    /// A property value is malformed for this use (`FDT_ERR_BADVALUE`).
    BadValue = 15,
    /// The overlay is malformed (`FDT_ERR_BADOVERLAY`).
    BadOverlay = 16,
    /// The phandle space is exhausted (`FDT_ERR_NOPHANDLES`).
    NoPhandles = 17,
    /// Unknown sequential-writer flags (`FDT_ERR_BADFLAGS`).
    BadFlags = 18,
    /// The blob is not 8-byte aligned (`FDT_ERR_ALIGNMENT`).
    Alignment = 19,
}

impl Error {
    /// libfdt's return value for this error (`-FDT_ERR_*`).
    pub const fn code(self) -> i32 {
        -(self as i32)
    }

    /// libfdt's `fdt_strerror` name.
    pub const fn name(self) -> &'static str {
        match self {
            Error::NotFound => "FDT_ERR_NOTFOUND",
            Error::Exists => "FDT_ERR_EXISTS",
            Error::NoSpace => "FDT_ERR_NOSPACE",
            Error::BadOffset => "FDT_ERR_BADOFFSET",
            Error::BadPath => "FDT_ERR_BADPATH",
            Error::BadPhandle => "FDT_ERR_BADPHANDLE",
            Error::BadState => "FDT_ERR_BADSTATE",
            Error::Truncated => "FDT_ERR_TRUNCATED",
            Error::BadMagic => "FDT_ERR_BADMAGIC",
            Error::BadVersion => "FDT_ERR_BADVERSION",
            Error::BadStructure => "FDT_ERR_BADSTRUCTURE",
            Error::BadLayout => "FDT_ERR_BADLAYOUT",
            Error::Internal => "FDT_ERR_INTERNAL",
            Error::BadNCells => "FDT_ERR_BADNCELLS",
            Error::BadValue => "FDT_ERR_BADVALUE",
            Error::BadOverlay => "FDT_ERR_BADOVERLAY",
            Error::NoPhandles => "FDT_ERR_NOPHANDLES",
            Error::BadFlags => "FDT_ERR_BADFLAGS",
            Error::Alignment => "FDT_ERR_ALIGNMENT",
        }
    }

    /// What the error means, as a sentence for people (tools print this,
    /// not the Rust variant name).
    pub const fn describe(self) -> &'static str {
        match self {
            Error::NotFound => "a node or property it needs is missing",
            Error::Exists => "a node or property already exists",
            Error::NoSpace => "the tree does not fit in its buffer",
            Error::BadOffset => "an offset into the structure or strings block is out of range",
            Error::BadPath => "a path is malformed",
            Error::BadPhandle => "a phandle is invalid",
            Error::BadState => "the tree is in an unexpected state (not finished or corrupt)",
            Error::Truncated => "the structure block ends early (a tag, name or property runs past its end)",
            Error::BadMagic => "no device tree magic (0xd00dfeed)",
            Error::BadVersion => "unsupported device tree version",
            Error::BadStructure => "the structure block is malformed (bad tag nesting, missing END)",
            Error::BadLayout => "the blocks are misplaced or overlap",
            Error::Internal => "internal error",
            Error::BadNCells => "a #address-cells or #size-cells value is invalid",
            Error::BadValue => "a property has an invalid value",
            Error::BadOverlay => "the overlay is malformed",
            Error::NoPhandles => "no phandle is left to allocate",
            Error::BadFlags => "invalid flags",
            Error::Alignment => "the blob is not 8-byte aligned",
        }
    }

    /// Inverse of [`Error::code`]; `None` for non-error codes.
    pub const fn from_code(code: i32) -> Option<Error> {
        Some(match -code {
            1 => Error::NotFound,
            2 => Error::Exists,
            3 => Error::NoSpace,
            4 => Error::BadOffset,
            5 => Error::BadPath,
            6 => Error::BadPhandle,
            7 => Error::BadState,
            8 => Error::Truncated,
            9 => Error::BadMagic,
            10 => Error::BadVersion,
            11 => Error::BadStructure,
            12 => Error::BadLayout,
            13 => Error::Internal,
            14 => Error::BadNCells,
            15 => Error::BadValue,
            16 => Error::BadOverlay,
            17 => Error::NoPhandles,
            18 => Error::BadFlags,
            19 => Error::Alignment,
            _ => return None,
        })
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// cellfdt's result type: `Err` carries libfdt's error.
pub type Result<T> = core::result::Result<T, Error>;
