//! Turning a caught panic's payload into text.

use std::any::Any;

/// The text of a panic payload as caught by [`std::panic::catch_unwind`]:
/// the `&str` or `String` given to `panic!`, or a placeholder for any other
/// payload type.
///
/// ```
/// let caught = std::panic::catch_unwind(|| panic!("disk {} full", 3)).unwrap_err();
/// assert_eq!(threadbutler_supervisor::panic_message(caught.as_ref()), "disk 3 full");
/// ```
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}
