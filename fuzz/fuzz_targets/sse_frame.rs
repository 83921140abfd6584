//! SSE framing: whatever text a user puts in an event (an announcement, a chat
//! message, a product name), its frame is one SSE event whose `data:` line is the
//! envelope exactly; no input can end the event early or forge another.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pointcast::events::Event;
use pointcast::store::StoredEvent;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let stored = StoredEvent {
        id: i64::from(data.len() as u32),
        channel: format!("user:{}", data.len()),
        event_type: "announcement".into(),
        at: 0,
        data: serde_json::json!({ "text": text }).to_string(),
    };
    let event = Event::from_stored(&stored);
    let frame = std::str::from_utf8(&event.frame).expect("frames are UTF-8");
    // One event: the only blank line is the terminator.
    let body = frame.strip_suffix("\n\n").expect("a frame ends with a blank line");
    assert!(!body.contains('\r'), "a CR would end a line for an SSE parser");
    let lines: Vec<&str> = body.split('\n').collect();
    assert_eq!(lines.len(), 3, "{frame:?}");
    assert_eq!(lines[0], format!("id: {}", stored.id));
    assert_eq!(lines[1], "event: announcement");
    let json = lines[2].strip_prefix("data: ").expect("third line is data");
    let v: serde_json::Value = serde_json::from_str(json).expect("data is JSON");
    assert_eq!(v["data"]["text"].as_str(), Some(text.as_ref()));
    assert_eq!(v["id"].as_i64(), Some(stored.id));
});
