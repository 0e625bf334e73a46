//! ivshmem links between cells: what a peer's BAR0 register write does to
//! the other peer (doorbell, state change), and a restarted peer's reset.
//! The register model itself is vdev's (`cellboot_vdev::pci`); `mmio`
//! hands this module the effect of a write.

use crate::gic;
use crate::guest_mem::GuestRange;
use crate::state::{self, cell_rt, name};
use cellboot_abi::NO_PEER;
use cellboot_vdev::pci::MmioEffect;

/// After cell `ci` restarted: its side of each of its ivshmem links reads
/// state 0 again, and the peer is told as for any state change.
pub fn link_reset(ci: usize) {
    for l in state::cfg().links().iter().filter(|l| l.peers.contains(&(ci as u32))) {
        effect(ci, l.device as u8, MmioEffect::StateChanged { state: 0 });
    }
}

/// Carries out an ivshmem BAR0 write's effect on the link's other peer.
pub fn effect(ci: usize, device: u8, e: MmioEffect) {
    let sys = state::cfg();
    let Some(link) = sys
        .links()
        .iter()
        .find(|l| l.device == u32::from(device) && l.peers.contains(&(ci as u32)))
    else {
        return;
    };
    let me: u32 = if link.peers[0] == ci as u32 { 0 } else { 1 };
    match e {
        MmioEffect::None => {}
        MmioEffect::Ignored { reason } => cell_info!(name(ci), "ivshmem write ignored: {}", reason),
        MmioEffect::Doorbell { peer, .. } => {
            if let Some(&target) = link.peers.get(peer as usize) {
                if peer != me && target != NO_PEER {
                    crate::stats::count(cellboot_abi::mgmt::exit::DOORBELL_SENT);
                    interrupt(target as usize, device);
                } else {
                    cell_info!(
                        name(ci),
                        "ivshmem doorbell to peer {} of device {}: no such other peer, ignored",
                        peer,
                        device as u64
                    );
                }
            }
        }
        MmioEffect::StateChanged { state } => {
            // State table entry of this peer: shmem + 4 * peer_id.
            let entry = 4 * u64::from(me);
            // Non-cacheable at EL2: the store goes to memory; the clean +
            // invalidate after it drops the peers' cached copies (their
            // entry is read-only to them by contract, so none is dirty).
            // SAFETY: the link's shared memory, validated to be board RAM
            // outside the shim's; its state table starts with one word per peer.
            let table = unsafe { GuestRange::new(link.shmem_phys, 8) };
            table.write_u32(entry, state);
            crate::arch::dcache_clean_inval(table.pa() + entry, 4);
            let other = link.peers[1 - me as usize];
            if other != NO_PEER {
                interrupt(other as usize, device);
            }
        }
    }
}

/// Raises `device`'s INTx in cell `target` if its model accepts it.
fn interrupt(target: usize, device: u8) {
    if target >= state::cfg().cells().len() {
        return;
    }
    let mut rt = cell_rt(target).lock();
    if !rt.is_running() {
        return;
    }
    let Some(bus) = rt.vpci_mut() else { return };
    if bus.take_interrupt(device) {
        let irq = bus.irq_for_device(device);
        drop(rt);
        crate::stats::received(target);
        gic::set_spi_pending(irq);
    }
}
