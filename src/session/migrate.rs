//! Upgrading events written by older versions of crit, on read. Logs are
//! never rewritten: the upgrade happens in memory each time.

use serde_json::{Map, Value};

/// Version 1 → 2: the protocol of `opened` was a string
/// (`"arms:assisted,blind-first;seed=7"`), a cancellation was a failure with
/// `error: "cancelled"`, and assistance repeated its kind at the top.
pub fn v1_to_v2(event: &mut Value) -> Result<(), String> {
    let Some(obj) = event.as_object_mut() else {
        return Ok(()); // not an object: the typed parse reports it
    };
    match obj.get("type").and_then(Value::as_str) {
        Some("opened") => upgrade_protocol(obj),
        Some("assistance_failed") => {
            upgrade_failure(obj);
            Ok(())
        }
        Some("assistance") => {
            obj.remove("kind");
            Ok(())
        }
        _ => Ok(()),
    }
}

fn upgrade_protocol(obj: &mut Map<String, Value>) -> Result<(), String> {
    let Some(Value::String(text)) = obj.get("protocol") else {
        return Ok(());
    };
    let Some(rest) = text.strip_prefix("arms:") else {
        return Ok(()); // a single protocol's name is still valid
    };
    let (arms, seed) = rest
        .split_once(";seed=")
        .ok_or_else(|| format!("protocol {text:?}: expected \"arms:A,B;seed=N\""))?;
    let seed: u64 = seed
        .parse()
        .map_err(|_| format!("protocol {text:?}: seed is not a number"))?;
    let arms: Vec<Value> = arms.split(',').map(|a| Value::from(a.trim())).collect();
    let spec = serde_json::json!({ "arms": arms, "seed": seed });
    obj.insert("protocol".into(), spec);
    Ok(())
}

fn upgrade_failure(obj: &mut Map<String, Value>) {
    let cancelled = obj.get("error").and_then(Value::as_str) == Some("cancelled");
    if cancelled {
        obj.remove("error");
    }
    let reason = if cancelled { "cancelled" } else { "error" };
    obj.insert("reason".into(), reason.into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arms_string_becomes_a_spec() {
        let mut e = json!({"type": "opened", "protocol": "arms:assisted,blind-first;seed=7"});
        v1_to_v2(&mut e).unwrap();
        assert_eq!(
            e["protocol"],
            json!({"arms": ["assisted", "blind-first"], "seed": 7})
        );
        let mut plain = json!({"type": "opened", "protocol": "blind-first"});
        v1_to_v2(&mut plain).unwrap();
        assert_eq!(plain["protocol"], "blind-first");
        let mut bad = json!({"type": "opened", "protocol": "arms:assisted"});
        assert!(v1_to_v2(&mut bad).is_err());
    }

    #[test]
    fn cancellation_gets_its_reason() {
        let mut c = json!({"type": "assistance_failed", "error": "cancelled"});
        v1_to_v2(&mut c).unwrap();
        assert_eq!(
            c,
            json!({"type": "assistance_failed", "reason": "cancelled"})
        );
        let mut f = json!({"type": "assistance_failed", "error": "no output"});
        v1_to_v2(&mut f).unwrap();
        assert_eq!(f["reason"], "error");
        assert_eq!(f["error"], "no output");
    }

    #[test]
    fn assistance_names_its_kind_once() {
        let mut a =
            json!({"type": "assistance", "kind": "critique", "output": {"kind": "critique"}});
        v1_to_v2(&mut a).unwrap();
        assert!(a.get("kind").is_none());
        assert_eq!(a["output"]["kind"], "critique");
    }
}
