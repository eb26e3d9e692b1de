"""synthetic-burst end to end through cli.main: a local threaded Telegram webhook and a local
Atlas Admin API whose CONNECTIONS count grows with the requests the webhook received."""
from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Iterator

import pytest

from cutover.cli import main
from tests.support.atlas_server import FakeAtlas
from tests.support.connect_proxy import ConnectProxy
from tests.support.httpserver import Fault
from tests.support.telegram_webhook import TelegramWebhook, self_signed_cert

SECRET = "webhook-Secret_for_the-tests"
GROUP = "5f1a2b3c4d5e6f7a8b9c0d1e"
PROCESS = "cluster0-shard-00-01.ab1cd.mongodb.net:27017"


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[TelegramWebhook]:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    with TelegramWebhook(secret=SECRET) as server:
        yield server


def atlas_for(webhook: TelegramWebhook, monkeypatch: pytest.MonkeyPatch, base: float, per_request: float,
              empty: bool = False) -> FakeAtlas:
    """Connections = base + per_request x updates received: each cold isolate opens its own pool."""
    fake = FakeAtlas(connections=lambda: base + per_request * len(webhook.arrivals), empty=empty).start()
    monkeypatch.setenv("ATLAS_API_BASE_URL", fake.base_url)
    monkeypatch.setenv("ATLAS_PUBLIC_KEY", fake.public_key)
    monkeypatch.setenv("ATLAS_PRIVATE_KEY", fake.private_key)
    for name in ("ATLAS_CLIENT_ID", "ATLAS_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return fake


def burst(url: str, *extra: str) -> list[str]:
    return ["synthetic-burst", "--url", url, *extra]


ATLAS_FAST = ["--atlas-group", GROUP, "--atlas-process", PROCESS, "--atlas-settle", "0",
              "--atlas-poll-interval", "0.05", "--wave-interval", "0"]


def test_single_wave_report_and_json(webhook: TelegramWebhook, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json = tmp_path / "burst.json"
    assert main(burst(webhook.url, "-n", "20", "--json", str(out_json))) == 0
    out, err = capsys.readouterr()
    assert out.startswith("synthetic-burst: OK - 20/20 answered (20 2xx)")
    assert "[200] 20 responses" in out
    doc = json.loads(out_json.read_text())
    assert doc["decision"] == "OK" and doc["waves_sent"] == 1 and doc["secret_header_sent"] is True
    assert doc["summary"]["status_codes"] == {"200": 20} and doc["summary"]["p95_ms"] is not None
    rows = doc["waves"][0]["requests_detail"]
    assert len({r["update_id"] for r in rows}) == 20 and len({r["cache_token"] for r in rows}) == 20
    assert {a.update["update_id"] for a in webhook.arrivals} == {r["update_id"] for r in rows}
    assert {a.secret for a in webhook.arrivals} == {SECRET}
    assert SECRET not in out + err + out_json.read_text()


def test_json_to_stdout_moves_report_to_stderr(webhook: TelegramWebhook, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(burst(webhook.url, "-n", "3", "--json", "-")) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["summary"]["requests"] == 3
    assert "synthetic-burst: OK" in err


def test_non_2xx_and_timeouts_are_reported_not_fatal(webhook: TelegramWebhook, capsys: pytest.CaptureFixture[str]) -> None:
    webhook.inject(Fault("status", path="/webhook", count=2, status=503, headers={"Retry-After": "1"}))
    webhook.inject(Fault("slow", path="/webhook", count=1, delay=8.0))
    # --timeout far from both sides: the 5 quick answers have seconds to spare on a loaded machine
    # (1.5 s was tight for connecting, releasing and answering six), the slow one still misses it
    assert main(burst(webhook.url, "-n", "6", "--timeout", "4", "--json", "-")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["status_codes"] == {"200": 3, "503": 2}
    assert doc["summary"]["error_kinds"] == {"timeout": 1}
    assert len(webhook.log) == 6, "no retries: a retried request is not part of the simultaneous burst"


def test_nothing_answers_is_exit_1(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(burst(f"http://127.0.0.1:{port}/webhook", "-n", "3")) == 1
    out, err = capsys.readouterr()
    assert "FAILED" in out and "[3] connection refused" in out
    assert "TELEGRAM_WEBHOOK_SECRET is not set" in err
    assert "no request got an HTTP response (3 connection refused)" in err


def test_abort_on_rising_connections_exit_4_no_further_waves(
    webhook: TelegramWebhook, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # threshold 60% of 500 = 300; 100 + 8/request: 260 after wave 1, 420 after wave 2.
    with atlas_for(webhook, monkeypatch, base=100, per_request=8) as atlas:
        out_json = tmp_path / "b.json"
        code = main(burst(webhook.url, "-n", "20", "--waves", "3", *ATLAS_FAST, "--json", str(out_json)))
    out, err = capsys.readouterr()
    assert code == 4
    assert len(webhook.arrivals) == 40, "wave 3 was not sent"
    doc = json.loads(out_json.read_text())
    assert doc["decision"] == "ABORTED" and doc["waves_sent"] == 2 and doc["waves_planned"] == 3
    assert doc["atlas"]["threshold"] == 300 and doc["atlas"]["peak"] == 420 and doc["atlas"]["exceeded"] is True
    phases = [r["phase"] for r in doc["atlas"]["readings"]]
    assert phases[0] == "before" and "after wave 1" in phases and "after wave 2" in phases
    assert "after wave 3" not in phases and "during wave 3" not in phases
    assert out.startswith("synthetic-burst: ABORTED - Atlas connections peak 420 > 300 (60% of 500); 1 of 3 waves not sent")
    assert "cutover synthetic-burst: Atlas connections peak 420 > 300" in err
    assert atlas.private_key not in out + err


def test_proceeds_under_threshold(webhook: TelegramWebhook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with atlas_for(webhook, monkeypatch, base=40, per_request=2):
        code = main(burst(webhook.url, "-n", "10", "--waves", "3", *ATLAS_FAST, "--json", "-"))
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(webhook.arrivals) == 30 and doc["waves_sent"] == 3
    assert doc["decision"] == "OK" and doc["atlas"]["peak"] == 100 and doc["atlas"]["exceeded"] is False
    assert len({a.update["update_id"] for a in webhook.arrivals}) == 30, "distinct across waves"


def test_already_over_cap_sends_nothing(webhook: TelegramWebhook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with atlas_for(webhook, monkeypatch, base=350, per_request=0):
        code = main(burst(webhook.url, "-n", "5", *ATLAS_FAST, "--atlas-max-pct", "60"))
    assert code == 4
    assert webhook.log == []
    assert capsys.readouterr().out.startswith("synthetic-burst: ABORTED - Atlas connections peak 350 > 300")


def test_atlas_401_is_a_clear_error_and_nothing_sent(
    webhook: TelegramWebhook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "00000000-wrong-private-key-0000"
    with atlas_for(webhook, monkeypatch, base=10, per_request=1):
        monkeypatch.setenv("ATLAS_PRIVATE_KEY", wrong)
        code = main(burst(webhook.url, "-n", "5", *ATLAS_FAST))
    out, err = capsys.readouterr()
    assert code == 1
    assert webhook.log == [], "no wave without a working connection guard"
    assert "Atlas reading failed, nothing sent: Atlas rejected the API key (HTTP Digest) (HTTP 401" in err and "check ATLAS_PUBLIC_KEY/ATLAS_PRIVATE_KEY" in err
    assert wrong not in out + err


def test_service_account_credentials(webhook: TelegramWebhook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with atlas_for(webhook, monkeypatch, base=10, per_request=1) as atlas:
        monkeypatch.delenv("ATLAS_PUBLIC_KEY")
        monkeypatch.delenv("ATLAS_PRIVATE_KEY")
        monkeypatch.setenv("ATLAS_CLIENT_ID", atlas.client_id)
        monkeypatch.setenv("ATLAS_CLIENT_SECRET", atlas.client_secret)
        assert main(burst(webhook.url, "-n", "4", *ATLAS_FAST)) == 0
    assert any(r.path == "/api/oauth/token" for r in atlas.log)
    assert atlas.client_secret not in "".join(capsys.readouterr())


def test_dry_run_sends_nothing_and_masks_the_secret(
    webhook: TelegramWebhook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with atlas_for(webhook, monkeypatch, base=10, per_request=1) as atlas:
        code = main(burst(webhook.url, "--dry-run", "--command", "/start 😀", *ATLAS_FAST))
    out, err = capsys.readouterr()
    assert code == 0
    assert webhook.log == [] and atlas.log == []
    assert "DRY RUN" in out and '"X-Telegram-Bot-Api-Secret-Token": "***"' in out
    assert '"text": "/start 😀"' in out and '"type": "bot_command"' in out and '"length": 6' in out
    assert "API key (HTTP Digest)" in out and "abort above 300 connections" in out
    assert SECRET not in out + err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--url", "http://bot.example.workers.dev/webhook"], "refusing plain http://"),
        (["--url", "https://x.example/w", "--command", "ping"], "must start with '/'"),
        (["--url", "https://x.example/w", "--atlas-group", GROUP], "go together"),
        (["--url", "https://x.example/w", "--atlas-group", "nothex", "--atlas-process", PROCESS], "24-hex-digit"),
        (["--url", "https://x.example/w", "-n", "5000"], "at most 1000"),
        (["--url", "https://x.example/w", "--timeout", "0"], "more than 0"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synthetic-burst", *argv]) == 2
    assert message in capsys.readouterr().err


def test_url_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["synthetic-burst"])
    assert info.value.code == 2


def test_bad_webhook_secret_rejected_without_echo(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "has spaces and ünïcode")
    assert main(burst("https://x.example/w", "--dry-run")) == 1
    err = capsys.readouterr().err
    assert "TELEGRAM_WEBHOOK_SECRET must be" in err and "ünïcode" not in err


def test_https_worker_trusted_through_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cert, key = self_signed_cert(tmp_path)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("SSL_CERT_FILE", cert)  # how an operator trusts a private CA
    with TelegramWebhook(secret=SECRET, tls=(cert, key)) as server:
        assert server.url.startswith("https://localhost:")
        assert main(burst(server.url, "-n", "5", "--json", "-")) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["status_codes"] == {"200": 5}


def test_https_proxy_tunnel_with_auth_and_no_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # bot.example.test is never resolved: the client only talks to the proxy, which tunnels to 127.0.0.1.
    cert, key = self_signed_cert(tmp_path, "bot.example.test")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    for name in ("NO_PROXY", "no_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with TelegramWebhook(secret=SECRET, tls=(cert, key)) as server, ConnectProxy("ops", "pr0xy-pass") as proxy:
        port = server.url.split(":")[2].split("/")[0]
        url = f"https://bot.example.test:{port}/webhook"
        monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://ops:pr0xy-pass@"))
        assert main(burst(url, "-n", "4", "--json", "-")) == 0
        out, err = capsys.readouterr()
        assert json.loads(out)["summary"]["status_codes"] == {"200": 4}
        assert proxy.tunnels == [f"bot.example.test:{port}"] * 4
        assert "through the HTTPS proxy 127.0.0.1:" in err and "pr0xy-pass" not in out + err
        monkeypatch.setenv("NO_PROXY", "example.test")  # bypassed: a direct connection, which cannot resolve
        assert main(burst(url, "-n", "1", "--timeout", "5")) == 1
    assert len(proxy.tunnels) == 4


def test_no_atlas_data_means_no_burst(webhook: TelegramWebhook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with atlas_for(webhook, monkeypatch, base=10, per_request=1, empty=True):
        assert main(burst(webhook.url, "-n", "3", *ATLAS_FAST)) == 1
    assert webhook.log == []
    assert "Atlas has no CONNECTIONS data for " + PROCESS in capsys.readouterr().err


def test_ctrl_c_mid_wave_reports_and_exits_130(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    out_json = tmp_path / "int.json"
    env = {**os.environ, "TELEGRAM_WEBHOOK_SECRET": SECRET}
    with TelegramWebhook(secret=SECRET, hold=20.0) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cutover", "synthetic-burst", "--url", server.url, "-n", "3", "--json", str(out_json)],
            cwd=str(Path(__file__).resolve().parents[2]), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 20
        while len(server.arrivals) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert out.startswith("synthetic-burst: INTERRUPTED after 0 of 1 complete waves during wave 1")
    assert "cutover synthetic-burst: interrupted" in err and "Traceback" not in err
    doc = json.loads(out_json.read_text())
    assert doc["decision"] == "INTERRUPTED" and doc["interrupted_in_wave"] == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--atlas-max-pct", "0"], "above 0 and at most 100"),
        (["--atlas-max-pct", "100.5"], "above 0 and at most 100"),
        (["--atlas-max-pct", "lots"], "not a number"),
        (["--atlas-poll-interval", "86401"], "between 0 and 86400"),
        (["--wave-interval", "-1"], "between 0 and 86400"),
        (["--timeout", "soon"], "not a number of seconds"),
        (["--atlas-cap", "0"], "must be > 0"),
        (["-n", "1.5"], "not a whole number"),
    ],
)
def test_flag_types_are_argparse_errors(flags: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["synthetic-burst", "--url", "https://x.example/w", *flags])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_atlas_flags_are_one_group_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["synthetic-burst", "--help"])
    text = capsys.readouterr().out
    section = text[text.index("Atlas connection cap"):].split("\n\n", 1)[0]
    listed = [line.split()[0] for line in section.splitlines()[1:] if line.startswith("  --")]
    assert listed == ["--atlas-group", "--atlas-process", "--atlas-cap", "--atlas-max-pct", "--atlas-poll-interval",
                      "--atlas-settle"]
