/// libfdt's error set; `code()` gives libfdt's negative `FDT_ERR_*` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Error {
    NotFound = 1,
    Exists = 2,
    NoSpace = 3,
    BadOffset = 4,
    BadPath = 5,
    BadPhandle = 6,
    BadState = 7,
    Truncated = 8,
    BadMagic = 9,
    BadVersion = 10,
    BadStructure = 11,
    BadLayout = 12,
    Internal = 13,
    BadNCells = 14,
    BadValue = 15,
    BadOverlay = 16,
    NoPhandles = 17,
    BadFlags = 18,
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

pub type Result<T> = core::result::Result<T, Error>;
