#!/usr/bin/env bash
# tests/fuzz/seeds.sh DIR - write the generated seed inputs of the CSV harnesses:
# DIR/csv/ (plain CSV files, fuzz_csv) and DIR/csv_diff/ (the same files behind fuzz_csv_diff's
# two bytes: read() size and flags, in a few combinations).  Small CSVs with quotes, CRLF and
# lone CR line ends, NA tokens, numbers of 15 to 20 digits, exponents and infinities, a BOM,
# long lines, columns turning to text, errors, and enough rows for two readers.
set -euo pipefail
dir=$1
mkdir -p "$dir/csv" "$dir/csv_diff"

n=0
seed() { # seed TEXT: one CSV, with escapes (\n, \r, \xHH) as printf %b reads them
    n=$((n + 1))
    printf '%b' "$1" >"$dir/csv/seed$n.csv"
    # read() size, flags (bit 0: two readers, bit 1: column options)
    for cfg in '\x01\x03' '\x07\x01' '\x00\x00' '\x40\x02'; do
        {
            printf '%b' "$cfg"
            cat "$dir/csv/seed$n.csv"
        } >"$dir/csv_diff/seed$n-${cfg//\\x/}.csv"
    done
}

seed 'a,b,c\n1,x,2.5\n2,NA,3\n3,y,\n'
seed 'a,b,c\n"1","x,y",""\n"2","say ""hi""",3\n"3","two\nlines",4\n'
seed 'a,b,c\r\n1,2,3\r\n\r\n4,x,6\r\n7,"8\r\n9",10'
seed 'a,b\r1,2\r3,x\r\r'
seed '\xEF\xBB\xBF"a",b\n1,2\n'
seed 'a,b,c\n1,#N/A,NA\n2,N/A,NULL\n3,nan,-NaN\n4,<NA>,None\n5,n/a,null\n6,#NA,1.#IND\n7,,-1.#QNAN\n'
seed 'a,b,c\n123456789012345,1234567890123456,12345678901234567\n123456789012345678,1234567890123456789,12345678901234567890\n0.12345678901234567,-9007199254740993,9007199254740992.5\n1e308,inf,-Infinity\n1e-320,+.5,-0.0\n0x1p3, 7 ,1.5e+3\n'
seed 'a,b,c\n1,2,3\n4,5,x\n6,7,8\n'
seed 'a,b,c\n1.,.5,+3\n-0,00012,1E-3\n 5,5 ,0x10\n1e5,-1.5e-7,+.25\n'

# plain decimals of 0 to 22 decimals and integers of 1 to 20 digits (the fast path's limits)
nums='a,b,c\n'
digits=12345678901234567890123
for k in $(seq 0 22); do
    nums+="0.${digits:0:k},${digits:0:k}.5,-${digits:0:$((k < 20 ? k + 1 : 20))}\n"
done
seed "$nums"
seed 'a, b,c\n 1 ,x ,NA\n2, x, NA\n3,x,1\n'
seed 'a,b\n1,2\n3\n'
seed 'a,b\n1,"unterminated\n2,3\n'
seed 'a,b\n1,x"y\n'
seed 'a,a\n1,2\n'
seed ',b\n1,2\n'

long=$(head -c 1500 /dev/zero | tr '\0' 'L')
seed "a,b,c\n1,$long,2\n3,\"$long\",4\n"

rows='a,b,c,d\n'
for i in $(seq 0 199); do
    case $((i % 5)) in
    0) rows+="$i,x,$((i * 7 % 13)).25,\n" ;;
    1) rows+="$i,\"q,$i\",1e$((i % 30)),NA\n" ;;
    2) rows+="$i,,-$i,y\r\n" ;;
    *) rows+="$i,y y,$((i % 3)),$i\n" ;;
    esac
done
seed "$rows"
