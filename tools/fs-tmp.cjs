const {firstStage}=require('./bench/dist/first-stage.js');const {initBackend}=require('@warmstart/core');
(async()=>{await initBackend();const log={add:(k,v,u,n)=>console.log(k,v.toFixed(3),u)};await firstStage(log,false,'x');})()
