"""Capacity planner for the transcoder Auto Scaling group: policy (a) step alarms vs (b) target tracking."""
