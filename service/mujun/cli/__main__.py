"""``python -m mujun.cli``."""

from mujun.cli import main

main()
