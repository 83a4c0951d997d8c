from slotblock.cli import main

main()
