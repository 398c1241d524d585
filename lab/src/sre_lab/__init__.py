"""sre-lab: the SRE MCP lab's incident scenario, its seeders and the investigation driver.

`sre_lab.scenario` defines the payment incident once; everything the lab seeds (the cluster snapshot, the
ClickHouse logs) reads its names and times from there so the evidence lines up across the three servers.
"""
