//! Retention: per `[record.NAME]` rule, contents whose name matches its
//! pattern are removed past `max_age`, then oldest first while the rule's
//! contents exceed `max_size`. A content follows the first rule that
//! matches it; contents no rule matches are kept.

use crate::error::Result;
use crate::id::VodId;
use crate::library::Library;
use crate::model::VodItem;

impl Library {
    /// Runs the rules once at `now_ms`; returns the removed ids.
    pub async fn retention_sweep(&self, now_ms: u64) -> Result<Vec<VodId>> {
        let doomed = doomed(&self.config.record, self.list()?, now_ms, |rules, name| {
            rules
                .iter()
                .position(|r| crate::units::pattern_matches(&r.pattern, name))
        });
        for id in &doomed {
            self.delete(*id).await?;
            tracing::info!(%id, "retention removed a VoD content");
        }
        Ok(doomed)
    }
}

fn doomed(
    rules: &[crate::config::RecordRule],
    items: Vec<VodItem>,
    now_ms: u64,
    rule_of: impl Fn(&[crate::config::RecordRule], &str) -> Option<usize>,
) -> Vec<VodId> {
    let mut doomed = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let mut mine: Vec<&VodItem> = items
            .iter()
            .filter(|i| rule_of(rules, &i.name) == Some(index))
            .collect();
        mine.sort_by_key(|i| std::cmp::Reverse(i.created_ms));
        if let Some(age) = rule.max_age {
            let cutoff = now_ms.saturating_sub(age.as_millis() as u64);
            mine.retain(|i| {
                let old = i.created_ms < cutoff;
                if old {
                    doomed.push(i.id);
                }
                !old
            });
        }
        if let Some(max) = rule.max_size {
            let mut total = 0u64;
            for item in mine {
                total = total.saturating_add(item.bytes);
                if total > max {
                    doomed.push(item.id);
                }
            }
        }
    }
    doomed
}
