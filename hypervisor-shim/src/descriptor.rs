//! Translation-table descriptor bits, VMSAv8-64 with the 4 KiB granule: one
//! home for the shim's EL2 stage-1 map (`arch::mmu`) and the cells' stage-2
//! tables (`stage2`). The two formats share the walk bits (valid, table or
//! page, output address, access flag, shareability) and differ in the
//! attributes: stage 1 indexes MAIR_EL2 and has one XN bit in the EL2
//! regime, stage 2 carries the memory type itself and read/write permission.

use tock_registers::register_bitfields;

register_bitfields! {u64,
    /// A stage-1 descriptor of the EL2 regime (one privilege level).
    pub STAGE1 [
        VALID OFFSET(0) NUMBITS(1) [],
        /// Table at levels 1-2, page at level 3 (0: a block).
        TABLE OFFSET(1) NUMBITS(1) [],
        /// MAIR_EL2 slot of the memory type.
        ATTR_INDX OFFSET(2) NUMBITS(3) [],
        /// AP[1]: RES1 in the EL2 regime (no EL0 access to grant).
        AP_RES1 OFFSET(6) NUMBITS(1) [],
        /// AP[2]: read-only.
        AP_RO OFFSET(7) NUMBITS(1) [],
        SH OFFSET(8) NUMBITS(2) [
            Outer = 0b10,
            Inner = 0b11,
        ],
        AF OFFSET(10) NUMBITS(1) [],
        /// Output address bits [47:12] (next table, block or page).
        OUTPUT_ADDR OFFSET(12) NUMBITS(36) [],
        /// Execute-never in the EL2 regime.
        XN OFFSET(54) NUMBITS(1) [],
    ],
    /// A stage-2 descriptor (HCR_EL2.FWB off).
    pub STAGE2 [
        VALID OFFSET(0) NUMBITS(1) [],
        TABLE OFFSET(1) NUMBITS(1) [],
        /// MemAttr[3:0], the memory type itself.
        MEM_ATTR OFFSET(2) NUMBITS(4) [
            DeviceNGnRE = 0b0001,
            /// Normal, outer and inner write-back cacheable.
            NormalWriteBack = 0b1111,
        ],
        S2AP_READ OFFSET(6) NUMBITS(1) [],
        S2AP_WRITE OFFSET(7) NUMBITS(1) [],
        SH OFFSET(8) NUMBITS(2) [
            Inner = 0b11,
        ],
        AF OFFSET(10) NUMBITS(1) [],
        OUTPUT_ADDR OFFSET(12) NUMBITS(36) [],
        /// XN[1:0]: 0b10 is execute-never at EL1 and EL0.
        XN OFFSET(53) NUMBITS(2) [
            Never = 0b10,
        ],
    ]
}

/// Valid entry (both stages share bits 0-1 and the address field).
pub const VALID: u64 = STAGE1::VALID::SET.value;
/// Table at levels 1-2, page at level 3.
pub const TABLE: u64 = STAGE1::TABLE::SET.value;
/// The output address of any descriptor.
pub const ADDR_MASK: u64 = STAGE1::OUTPUT_ADDR.mask << STAGE1::OUTPUT_ADDR.shift;

const _: () = assert!(
    VALID == STAGE2::VALID::SET.value
        && TABLE == STAGE2::TABLE::SET.value
        && ADDR_MASK == STAGE2::OUTPUT_ADDR.mask << STAGE2::OUTPUT_ADDR.shift
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_sit_where_the_arm_arm_puts_them() {
        assert_eq!((VALID, TABLE, ADDR_MASK), (1, 2, 0x0000_ffff_ffff_f000));
        assert_eq!(STAGE1::XN::SET.value, 1 << 54);
        assert_eq!(STAGE1::AF::SET.value, 1 << 10);
        assert_eq!(STAGE1::SH::Inner.value, 3 << 8);
        assert_eq!(STAGE1::ATTR_INDX.val(2).value, 2 << 2);
        assert_eq!(STAGE2::XN::Never.value, 1 << 54);
        assert_eq!(STAGE2::MEM_ATTR::NormalWriteBack.value, 0x3c);
        assert_eq!(STAGE2::S2AP_WRITE::SET.value, 1 << 7);
    }
}
