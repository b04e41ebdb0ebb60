"""The storage layer: lake URLs and zone paths, the filesystems behind them, atomic publication, small JSON
documents, and the settings Spark needs to reach the lake. Below the stages, above the data contract."""
