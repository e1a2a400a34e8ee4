//! Decode times for Matroska video, which stores only presentation times.
//!
//! With B-frames, frames are stored in decode order but their presentation
//! times are not monotonic. The i-th decode time is taken as the i-th
//! smallest presentation time (monotonic, and the same spacing as the
//! frames), then every decode time is moved back by the largest amount any
//! of them exceeds its own frame's presentation time, so `dts <= pts`
//! holds for all frames. For I0 P3 B1 B2 (pts 0 3 1 2) this gives dts
//! -1 0 1 2: the usual one-frame reorder delay.

/// Decode times for presentation times `pts` given in decode order.
pub(super) fn decode_times(pts: &[i64]) -> Vec<i64> {
    let mut sorted = pts.to_vec();
    sorted.sort_unstable();
    let shift = sorted
        .iter()
        .zip(pts)
        .map(|(dts, pts)| dts.saturating_sub(*pts))
        .max()
        .unwrap_or(0)
        .max(0);
    sorted
        .into_iter()
        .map(|dts| dts.saturating_sub(shift))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::decode_times;

    #[test]
    fn b_frames_get_a_reorder_delay() {
        assert_eq!(decode_times(&[0, 3, 1, 2, 6, 4, 5]), [-1, 0, 1, 2, 3, 4, 5]);
        // Pyramid: I0 P4 B2 b1 b3 needs two frames of delay.
        assert_eq!(decode_times(&[0, 4, 2, 1, 3]), [-2, -1, 0, 1, 2]);
    }

    #[test]
    fn monotonic_times_are_kept() {
        assert_eq!(decode_times(&[10, 20, 30]), [10, 20, 30]);
        assert!(decode_times(&[]).is_empty());
    }
}
