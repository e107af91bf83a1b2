// Yosys techmap: a $mul cell as shift-and-add in logic (exact, modulo 2**Y_WIDTH, for
// every signedness and width). glocal's ECP5 build applies it to the small multipliers
// so that the 18×18 DSPs go to the wide ones (boards/ulx3s.py).
(* techmap_celltype = "$mul" *)
module _glocal_soft_mul (A, B, Y);
  parameter A_SIGNED = 0;
  parameter B_SIGNED = 0;
  parameter A_WIDTH = 1;
  parameter B_WIDTH = 1;
  parameter Y_WIDTH = 1;
  input [A_WIDTH-1:0] A;
  input [B_WIDTH-1:0] B;
  output [Y_WIDTH-1:0] Y;
  // $mul is signed when both operands are (Yosys's rule). A is extended to the result
  // width; B's bits select shifted copies of it, and a signed B's top bit weighs
  // -2**(B_WIDTH-1), so its partial product is negated. The B_WIDTH partial products
  // are summed by a balanced tree of adders (node i = node 2i+1 + node 2i+2, the leaves
  // at B_WIDTH-1 ...), ceil(log2 B_WIDTH) adders deep rather than B_WIDTH.
  localparam SIGNED = A_SIGNED && B_SIGNED;
  localparam N = B_WIDTH;
  wire [Y_WIDTH-1:0] a;
  wire [Y_WIDTH-1:0] node [0:2*N-2];
  generate
    if (SIGNED) assign a = $signed(A);
    else assign a = A;
  endgenerate
  genvar i;
  generate for (i = 0; i < N; i = i + 1) begin : pp
    if (SIGNED && i == N - 1)
      assign node[N - 1 + i] = B[i] ? -(a << i) : {Y_WIDTH{1'b0}};
    else
      assign node[N - 1 + i] = B[i] ? a << i : {Y_WIDTH{1'b0}};
  end endgenerate
  generate for (i = 0; i < N - 1; i = i + 1) begin : add
    assign node[i] = node[2 * i + 1] + node[2 * i + 2];
  end endgenerate
  assign Y = node[0];
endmodule
