//! The message protocol between the Linux cell (qemu/ivshmem-peer.sh) and
//! rtos-demo over one ivshmem-v2 link. Each peer writes only its own output
//! section (`shmem + state_size + rw_size + peer_id * out_size`); words are
//! little-endian u32.
//!
//! Request (the requester's output section): `[0]` = [`PING`], `[1]` = seq
//! (non-zero, changes per request), `[2]` = a, `[3]` = b, then the doorbell
//! of the answering peer. Answer (the answerer's output section): `[0]` =
//! [`PONG`], `[2]` = [`answer`]`(a, b)`, `[3]` = timer ticks so far, and
//! `[1]` = seq written last (the requester polls it), then the doorbell back.
//! `b == STATS` asks the answerer to print its counters first.

pub const PING: u32 = u32::from_le_bytes(*b"PING");
pub const PONG: u32 = u32::from_le_bytes(*b"PONG");
pub const STATS: u32 = 0xffff_ffff;

/// What the answer carries: proof the inmate read both operands.
pub fn answer(a: u32, b: u32) -> u32 {
    a.wrapping_mul(3).wrapping_add(b)
}

/// Byte offset of peer `peer`'s output section inside the shared memory.
pub fn out_section(state_size: u64, rw_size: u64, out_size: u64, peer: u32) -> u64 {
    state_size + rw_size + u64::from(peer) * out_size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_words_read_as_text_in_a_hex_dump() {
        assert_eq!(PING, 0x474e_4950);
        assert_eq!(PONG, 0x474e_4f50);
        assert_eq!(answer(7, 5), 26);
        assert_eq!(out_section(0x1000, 0x1_0000, 0x1_0000, 1), 0x2_1000);
    }
}
