"""Tests of the gRPC server, against real server processes."""
