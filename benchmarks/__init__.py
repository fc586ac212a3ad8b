"""The benchmark lab: what each way of authenticating costs, measured with wrk (``make bench``)."""
