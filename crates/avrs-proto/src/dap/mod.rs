//! DAP stream framing (being written).
