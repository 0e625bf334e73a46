//! Printing through the shim's console hypercall (it prefixes the cell name).

pub fn print(args: core::fmt::Arguments) {
    cellboot_guest_rt::console_write("", args);
}

#[macro_export]
macro_rules! say {
    ($($t:tt)*) => { $crate::console::print(format_args!($($t)*)) };
}
