"""Device fingerprints: stable for a machine, different for different machines, bounded input."""

from __future__ import annotations

from signalos.auth import devices


def test_same_machine_same_fingerprint_regardless_of_case_order_and_noise():
    a = devices.fingerprint({"platform": "Windows", "processor": "Intel i7", "memory": "16GB"})
    b = devices.fingerprint({"memory": "16gb ", "processor": "intel I7", "platform": "windows",
                             "app_version": "1.2.3"})
    assert a == b and a.startswith("dev_") and len(a) == 36


def test_different_machines_differ():
    a = devices.fingerprint({"platform": "Windows", "processor": "Intel i7"})
    b = devices.fingerprint({"platform": "Windows", "processor": "AMD Ryzen"})
    assert a != b


def test_explicit_device_id_wins():
    a = devices.fingerprint({"device_id": "GUID-1", "platform": "Windows"})
    b = devices.fingerprint({"device_id": "guid-1", "platform": "Linux"})
    c = devices.fingerprint({"device_id": "GUID-2", "platform": "Windows"})
    assert a == b != c


def test_clean_keeps_bounded_scalars_only():
    cleaned = devices.clean({"platform": "W" * 1000, "nested": {"a": 1}, "list": [1], "cores": 8})
    assert cleaned == {"platform": "W" * 256, "cores": "8"}


def test_label():
    assert devices.label({"platform": "Windows", "processor": "Intel i7"}) == "Windows / Intel i7"
    assert devices.label({}) == "unknown device"
