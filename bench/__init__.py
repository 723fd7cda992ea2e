"""Benchmarks: each module measures one part beside a baseline in the same run (`make bench`)."""
