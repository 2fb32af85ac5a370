//! The state lock: one holder at a time, with a helpful wait message.

use std::sync::mpsc;
use std::time::Duration;

use reagent_state::{StateError, StateLock};

#[test]
fn second_acquire_without_wait_fails_with_the_holder_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".reagent");
    let first = StateLock::acquire(&dir, false, |_| panic!("nobody holds it")).unwrap();
    assert_eq!(
        std::fs::read_to_string(first.path()).unwrap().trim(),
        std::process::id().to_string()
    );
    let err = StateLock::acquire(&dir, false, |_| panic!("must not wait")).unwrap_err();
    match &err {
        StateError::Locked { pid, dir: d } => {
            assert_eq!(*pid, Some(std::process::id()));
            assert_eq!(d, &dir);
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(err
        .to_string()
        .contains(&format!("pid {}", std::process::id())));
    drop(first);
    // Released on drop.
    assert!(StateLock::acquire(&dir, false, |_| {}).is_ok());
}

#[test]
fn acquire_with_wait_blocks_until_the_holder_drops() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let first = StateLock::acquire(&dir, false, |_| {}).unwrap();

    let (msg_tx, msg_rx) = mpsc::channel();
    let (got_tx, got_rx) = mpsc::channel();
    let waiter = {
        let dir = dir.clone();
        std::thread::spawn(move || {
            let lock = StateLock::acquire(&dir, true, |m| msg_tx.send(m.to_string()).unwrap());
            got_tx.send(lock.is_ok()).unwrap();
            lock
        })
    };
    let msg = msg_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        msg,
        format!(
            "waiting for another reagent (pid {}) to finish with {}",
            std::process::id(),
            dir.display()
        )
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(got_rx.try_recv().is_err(), "acquired while still held");
    drop(first);
    assert!(got_rx.recv_timeout(Duration::from_secs(10)).unwrap());
    let second = waiter.join().unwrap().unwrap();
    // Now the waiter holds it.
    assert!(matches!(
        StateLock::acquire(&dir, false, |_| {}),
        Err(StateError::Locked { .. })
    ));
    drop(second);
}
