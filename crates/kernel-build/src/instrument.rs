//! Instrumenting a kernel build's module (walrus), so that the same
//! artifact behaves the same in the CLI's interpreter and in the browser:
//!
//! * a step budget: every `loop` iteration and every kernel function call
//!   takes one step from the exported global `kexec_sim_fuel`; at zero the
//!   module calls the host's `out_of_steps`, which ends the run with a
//!   fault (a loop that does not end);
//! * a shadow call stack: every kernel function (not the shim's) calls
//!   `__cyg_profile_func_enter(index, 0)` on entry and
//!   `__cyg_profile_func_exit` before it returns, so a fault names the
//!   kernel function it happened in.
//!
//! Returns the module and the kernel functions' names by index.

use crate::BuildError;
use std::collections::BTreeSet;
use walrus::ir::{BinaryOp, Instr, InstrSeqId, UnaryOp, Value};
use walrus::{ConstExpr, FunctionId, LocalFunction, Module, ValType};

/// Names of the functions a module defines.
pub fn defined_names(wasm: &[u8]) -> Result<BTreeSet<String>, BuildError> {
    let m = Module::from_buffer(wasm).map_err(|e| BuildError::Tool(format!("walrus: {e}")))?;
    Ok(m.funcs
        .iter_local()
        .filter_map(|(id, _)| m.funcs.get(id).name.clone())
        .collect())
}

struct Hooks {
    fuel: walrus::GlobalId,
    out_of_steps: FunctionId,
    enter: FunctionId,
    exit: FunctionId,
}

/// Kernel function names by wasm function index.
pub type FunctionNames = Vec<(u32, String)>;

/// Instrument `wasm`; `shim` holds the names of the shim's own functions.
pub fn instrument(
    wasm: &[u8],
    shim: &BTreeSet<String>,
) -> Result<(Vec<u8>, FunctionNames), BuildError> {
    let bad = |e: String| BuildError::Tool(format!("instrumenting the module: {e}"));
    let mut m = Module::from_buffer(wasm).map_err(|e| bad(e.to_string()))?;
    let find = |m: &Module, name: &str| {
        m.funcs
            .iter()
            .find(|f| f.name.as_deref() == Some(name))
            .map(|f| f.id())
            .ok_or_else(|| bad(format!("the shim's {name} is missing")))
    };
    let enter = find(&m, "__cyg_profile_func_enter")?;
    let exit = find(&m, "__cyg_profile_func_exit")?;
    let ty = m.types.add(&[], &[]);
    let (out_of_steps, _) = m.add_import_func("kexec_shim", "out_of_steps", ty);
    let fuel = m.globals.add_local(
        ValType::I64,
        true,
        false,
        ConstExpr::Value(Value::I64(i64::MAX)),
    );
    m.exports.add("kexec_sim_fuel", fuel);
    let hooks = Hooks {
        fuel,
        out_of_steps,
        enter,
        exit,
    };
    let ptr32 = !m.memories.iter().any(|mem| mem.memory64);
    let index_of: Vec<FunctionId> = m.funcs.iter().map(|f| f.id()).collect();
    let mut names = Vec::new();
    let ids: Vec<FunctionId> = m.funcs.iter_local().map(|(id, _)| id).collect();
    for id in ids {
        let name = m.funcs.get(id).name.clone().unwrap_or_default();
        let kernel = !shim.contains(&name) && id != enter && id != exit;
        let index = index_of.iter().position(|&f| f == id).unwrap_or(0) as u32;
        let walrus::FunctionKind::Local(f) = &mut m.funcs.get_mut(id).kind else {
            continue;
        };
        fuel_loops(f, &hooks);
        if kernel {
            shadow(f, &hooks, index, ptr32);
            names.push((index, name));
        }
    }
    names.sort();
    Ok((m.emit_wasm(), names))
}

/// The step instructions: fuel -= 1; if fuel == 0 { out_of_steps() }.
fn step(h: &Hooks) -> Vec<Instr> {
    vec![
        Instr::GlobalGet(walrus::ir::GlobalGet { global: h.fuel }),
        Instr::Const(walrus::ir::Const {
            value: Value::I64(1),
        }),
        Instr::Binop(walrus::ir::Binop {
            op: BinaryOp::I64Sub,
        }),
        Instr::GlobalSet(walrus::ir::GlobalSet { global: h.fuel }),
        Instr::GlobalGet(walrus::ir::GlobalGet { global: h.fuel }),
        Instr::Unop(walrus::ir::Unop {
            op: UnaryOp::I64Eqz,
        }),
    ]
}

/// Every sequence of a function, the entry block first.
fn sequences(f: &LocalFunction) -> Vec<InstrSeqId> {
    let mut out = vec![f.entry_block()];
    let mut i = 0;
    while i < out.len() {
        let seq = out[i];
        for (ins, _) in &f.block(seq).instrs {
            match ins {
                Instr::Block(b) => out.push(b.seq),
                Instr::Loop(l) => out.push(l.seq),
                Instr::IfElse(ie) => {
                    out.push(ie.consequent);
                    out.push(ie.alternative);
                }
                _ => {}
            }
        }
        i += 1;
    }
    out
}

/// Put `instrs` at `at` in sequence `seq`, with a guarded call to
/// out_of_steps (the `if` gets a fresh empty else).
fn insert_step(f: &mut LocalFunction, seq: InstrSeqId, at: usize, h: &Hooks) {
    let mut b = f.builder_mut().instr_seq(seq);
    let mut pos = at;
    for ins in step(h) {
        b.instr_at(pos, ins);
        pos += 1;
    }
    let call = h.out_of_steps;
    let builder = f.builder_mut();
    let consequent = builder.dangling_instr_seq(None).id();
    builder.instr_seq(consequent).call(call);
    let alternative = builder.dangling_instr_seq(None).id();
    builder.instr_seq(seq).instr_at(
        pos,
        Instr::IfElse(walrus::ir::IfElse {
            consequent,
            alternative,
        }),
    );
}

fn fuel_loops(f: &mut LocalFunction, h: &Hooks) {
    let loops: Vec<InstrSeqId> = sequences(f)
        .iter()
        .flat_map(|&s| {
            f.block(s)
                .instrs
                .iter()
                .filter_map(|(i, _)| match i {
                    Instr::Loop(l) => Some(l.seq),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for l in loops {
        insert_step(f, l, 0, h);
    }
}

fn shadow(f: &mut LocalFunction, h: &Hooks, index: u32, ptr32: bool) {
    let (idx, zero) = if ptr32 {
        (Value::I32(index as i32), Value::I32(0))
    } else {
        (Value::I64(i64::from(index)), Value::I64(0))
    };
    // Returns inside the body, then the body's end.
    for seq in sequences(f) {
        let at: Vec<usize> = f
            .block(seq)
            .instrs
            .iter()
            .enumerate()
            .filter(|(_, (i, _))| matches!(i, Instr::Return(_)))
            .map(|(n, _)| n)
            .collect();
        for &n in at.iter().rev() {
            exit_call(f, seq, n, h, zero);
        }
    }
    let entry = f.entry_block();
    let end = f.block(entry).instrs.len();
    exit_call(f, entry, end, h, zero);
    let mut b = f.builder_mut().instr_seq(entry);
    b.instr_at(0, Instr::Const(walrus::ir::Const { value: idx }));
    b.instr_at(1, Instr::Const(walrus::ir::Const { value: zero }));
    b.instr_at(2, Instr::Call(walrus::ir::Call { func: h.enter }));
    insert_step(f, entry, 3, h);
}

fn exit_call(f: &mut LocalFunction, seq: InstrSeqId, at: usize, h: &Hooks, zero: Value) {
    let mut b = f.builder_mut().instr_seq(seq);
    b.instr_at(at, Instr::Const(walrus::ir::Const { value: zero }));
    b.instr_at(at + 1, Instr::Const(walrus::ir::Const { value: zero }));
    b.instr_at(at + 2, Instr::Call(walrus::ir::Call { func: h.exit }));
}
