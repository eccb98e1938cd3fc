"""A real SQS-compatible server on loopback for tests, demos, campaigns and benchmarks:
moto's server mode (``python -m moto.server``) in a child process on a free port::

    with SqsServer() as sqs:
        url, arn = sqs.create_queue("orders")
        sandbox.notifier.configure_sqs(sqs.url, sqs.region)

Moto accepts any AWS key; ``credentials`` are what the connector and the sandbox send.
"""

import os
import signal
import socket
import subprocess
import sys
import time

ACCOUNT_ID = "123456789012"  # moto's default AWS account
# moto needs newer cryptography and requests than Odoo 17 pins, so it may live in a virtualenv
# of its own (``.ci/run`` makes one): this variable names that virtualenv's interpreter.
PYTHON_VARIABLE = "SQS_TEST_DOUBLE_PYTHON"


def moto_python():
    """The interpreter that runs moto's server: ``$SQS_TEST_DOUBLE_PYTHON``, else this one."""
    return os.environ.get(PYTHON_VARIABLE) or sys.executable


def unavailable():
    """Why moto's server cannot be started here, or None when it can."""
    python = moto_python()
    try:
        found = subprocess.run(  # noqa: S603 - an interpreter of this machine, fixed code
            [python, "-c", "import moto.server"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"moto's server cannot run with {python}: {exc}"
    if found.returncode:
        return (
            f"moto[server] is not installed for {python} (install it there, or point "
            f"{PYTHON_VARIABLE} at a virtualenv that has it, as .ci/run does)"
        )
    return None


def _free_port(host):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class SqsServer:
    """moto's server on ``host`` (loopback). ``start()``/``stop()`` or a context manager."""

    region = "eu-west-1"
    credentials = {"access_key_id": "AKIDSQSTESTDOUBLE0001", "secret_access_key": "sqs-test-secret"}

    def __init__(self, host="127.0.0.1", port=0, start_timeout=60.0):
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the SQS test double only binds to loopback")
        self.host = "127.0.0.1"
        self.port = int(port)
        self.start_timeout = float(start_timeout)
        self.process = None

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self):
        if self.process is not None:
            return self
        for _attempt in range(3):
            port = self.port or _free_port(self.host)
            env = dict(os.environ, MOTO_PORT=str(port))
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter (or moto's) and module
                [moto_python(), "-m", "moto.server", "-H", self.host, "-p", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
            if self._wait_ready(port):
                self.port = port
                return self
            self._kill()
            if self.port:
                break
        raise RuntimeError("moto's SQS server did not start (is moto[server] installed?)")

    def _wait_ready(self, port):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.1)
        return False

    def _kill(self):
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def stop(self):
        self._kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- queues ------------------------------------------------------------------------
    def client(self):
        import boto3  # noqa: PLC0415 - only the test double's users need it

        return boto3.session.Session().client(
            "sqs",
            region_name=self.region,
            endpoint_url=self.url,
            aws_access_key_id=self.credentials["access_key_id"],
            aws_secret_access_key=self.credentials["secret_access_key"],
        )

    def create_queue(self, name, visibility_timeout=30):
        """Create (or find) the queue ``name``: (queue URL, queue ARN)."""
        sqs = self.client()
        url = sqs.create_queue(
            QueueName=name, Attributes={"VisibilityTimeout": str(int(visibility_timeout))}
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    def purge(self, url):
        """Delete every message of the queue (moto applies it at once)."""
        self.client().purge_queue(QueueUrl=url)

    def count(self, url):
        """Visible + in-flight + delayed messages of the queue."""
        attributes = self.client().get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())
