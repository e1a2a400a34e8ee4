//! TSD structural pass and every typed getter on arbitrary bytes.
#![no_main]

use avrs_proto::tsd::{TsdLimits, TsdList};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = TsdLimits { max_items: 64, max_item_size: 4096 };
    if let Ok(list) = TsdList::parse(data, limits) {
        let mut total = 0;
        for item in list.iter() {
            total += item.encoded_len();
            let _ = (item.u8(), item.u16(), item.u32(), item.u64());
            let _ = (item.guuid(), item.hash(), item.str(), item.str_max(63));
        }
        // A list that parsed covers the whole buffer exactly.
        assert_eq!(total, data.len());
    }
});
