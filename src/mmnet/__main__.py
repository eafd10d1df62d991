from mmnet.cli import main

raise SystemExit(main())
