"""The publish stage: reports rendered into the static site (`publisher`), every file written
atomically and never outside the site folder (`safepath`). The rest are what a page is made
of: page planning (`pages`), Jinja filters, charts, cards, the social image, feeds, the
sparkline, the brag document (`markdown`) and where a page's times live (`freshness`)."""
